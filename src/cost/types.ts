/** A forecast range: the median and the 90th percentile. */
export interface Range {
  p50: number;
  p90: number;
}

/** What a run was forecast to take, stored with the run for forecast-accuracy reports. */
export interface ForecastSummary {
  durationMs: Range;
  usd: Range;
}

/** What a run took. */
export interface ActualSummary {
  durationMs: number;
  usd: number;
}
