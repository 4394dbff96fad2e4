import { AgentError } from '../errors.ts';

/** A query that cannot be answered as asked (a bad range, an unknown grouping): the HTTP API answers 400, `shopfloor-agent kpi` exits 2. */
export class KpiQueryError extends AgentError {
  readonly statusCode = 400;
  constructor(detail: string, options?: { cause?: unknown }) {
    super('SFA_ERR_KPI_QUERY', detail, options);
    this.name = 'KpiQueryError';
  }
}
