export * from './server.ts';
export type * from './ports.ts';
// generic pieces the fleet's HTTP API shares with the agent's (agent/fleet)
export { assertBindAllowed, registerAuth } from './auth.ts';
export { registerErrorReplies } from './error-replies.ts';
export type { ErrorBody } from './error-replies.ts';
export { timeParam } from './query-params.ts';
export { bundleDashboard, serveDashboard, type DashboardBundle } from './dashboard-assets.ts';
export { registerSecurityHeaders } from './security-headers.ts';
export { registerHostCheck } from './host-check.ts';
