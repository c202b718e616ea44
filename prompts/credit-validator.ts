/**
 * Text of the Credit-Validator. The budget reasons themselves come from the cost library
 * (src/cost/budget.ts), with the numbers. Placeholders: {plan}, {usd}, {duration}.
 */
export const APPROVAL_QUESTION = "Approve running plan \"{plan}\"? Forecast {usd} and {duration}.";
