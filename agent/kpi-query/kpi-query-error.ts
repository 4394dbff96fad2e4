/** A query the service cannot answer as asked (a bad range, an unknown grouping): HTTP 400. */
export class KpiQueryError extends Error {
  readonly statusCode = 400;
}
