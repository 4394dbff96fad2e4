/**
 * The error catalogue (STYLE.md, after fastify's lib/errors.js): every error the agent
 * reports has a stable code and says what to do. Codes are strings because instanceof
 * does not cross processes. Documented in agent/ERRORS.md; a test keeps the two in step.
 */

export const ERRORS = {
  SFA_ERR_CONFIG_NOT_FOUND: 'config file not found: pass -c FILE or set SHOPFLOOR_CONFIG',
  SFA_ERR_CONFIG_YAML: 'the config file is not valid YAML: fix the line shown',
  SFA_ERR_CONFIG_ENV: 'the config refers to an environment variable that is not set: export it or remove the reference',
  SFA_ERR_CONFIG_INVALID: 'the config does not match the schema: fix each path shown (see config/example.yaml)',
  SFA_ERR_USAGE: 'bad command line: see shopfloor-agent --help',
  SFA_ERR_HTTP_BIND: 'the HTTP port could not be opened: choose another http.port or stop what holds it',
  SFA_ERR_HTTP_TOKEN_REQUIRED: 'binding the dashboard beyond localhost requires http.token',
  SFA_ERR_BUFFER_OPEN: 'the SQLite buffer could not be opened: check agent.dataDir exists and is writable',
  SFA_ERR_BUFFER_SCHEMA_NEWER: 'the buffer was written by a newer agent version: upgrade the agent or point agent.dataDir elsewhere',
  SFA_ERR_SOURCE_CONNECT: 'a source could not connect: check its endpoint/url, network and credentials; the agent keeps retrying',
  SFA_ERR_SIMULATOR_START: 'the demo plant could not start: a simulator port is probably in use (simulator.opcuaPort / simulator.mqttPort)',
  SFA_ERR_PAYLOAD: 'a payload could not be used; it is kept in the dead_letters table with the reason',
  SFA_ERR_UPSTREAM_CONNECT: 'the central broker (upstream.url) is unreachable or refused the agent: check url, credentials and TLS files; samples stay in the buffer and are sent after reconnect',
  SFA_ERR_UPSTREAM_TLS: 'an upstream TLS file could not be read: check upstream.ca, upstream.cert and upstream.key (PEM files)',
  SFA_ERR_DISK_FULL: 'the disk holding agent.dataDir is full: the buffer stops growing and drops its oldest samples; free space or lower buffer.maxBytes',
  SFA_ERR_OPCUA_CERT_UNTRUSTED: 'the OPC UA server certificate is not trusted: compare its thumbprint with the one the machine shows, then run the `shopfloor-agent trust accept <thumbprint>` command shown; the agent retries by itself',
  SFA_ERR_OPCUA_AUTH: 'the OPC UA server refused the user identity: fix auth.username/auth.password (or the user certificate) of the source; the agent retries with backoff',
  SFA_ERR_OPCUA_SECURITY: 'the OPC UA server does not offer the configured securityMode/securityPolicy: choose one of the endpoints listed in the message (or run `shopfloor-agent browse <endpoint>`)',
  SFA_ERR_OPCUA_CLIENT_REJECTED: 'the OPC UA server does not trust the certificate of the agent: trust agent.dataDir/pki/own/certs/client_certificate.pem on the server (its thumbprint is in the message)',
  SFA_ERR_OPCUA_USER_CERT: 'the user certificate or key of auth.type certificate could not be read: check the cert and key paths (PEM files)',
  SFA_ERR_OPCUA_TRUST: 'no certificate with that thumbprint in the PKI: run `shopfloor-agent trust list` and copy the thumbprint shown',
  SFA_ERR_HTTP_BAD_REQUEST: 'a request parameter is not valid: fix the one the message names (the routes and their parameters are listed in the README)',
  SFA_ERR_HTTP_UNAUTHORIZED: 'the request carries no valid access token: send Authorization: Bearer <http.token>, or sign in at /login',
  SFA_ERR_HTTP_NOT_FOUND: 'no such route or machine: GET /api/machines lists the machine ids, the README lists the routes',
  SFA_ERR_HTTP_INTERNAL: 'the agent failed to answer a request: the cause is in its log, on the "request failed" line with the request id the answer gives; report it with that line',
  SFA_ERR_HTTP_HOST: 'the request names a Host this agent does not answer to (a DNS-rebinding guard): open the dashboard by the bind address, localhost, or add the name to http.allowedHosts',
  SFA_ERR_HTTP_RATE_LIMITED: 'too many failed sign-ins from this address: wait the Retry-After seconds, then sign in with the right http.token',
  SFA_ERR_HTTP_BUSY: 'the agent serves as many live streams as http.maxStreams allows: close a dashboard tab or raise http.maxStreams; the browser retries by itself',
  SFA_ERR_UNEXPECTED: 'a component of the agent failed unexpectedly (a bug): it was restarted and the agent kept running; report the log line with its stack',
  SFA_ERR_HTTP_QUERY_RANGE: 'the query asks for a longer range than one request may (http.query.maxRangeDays): ask for a shorter range, or raise the limit in the config',
  SFA_ERR_HTTP_QUERY_ROWS: 'the query would compute more rows (windows × machines) than one request may (http.query.maxRows): narrow the range, group coarser, pick a machine or a line, or raise the limit',
  SFA_ERR_HTTP_QUERY_TIMEOUT: 'the query ran past its deadline (http.query.deadlineS) and was cancelled: ask for a shorter range or a coarser grouping, or retry when the agent is less busy',
  SFA_ERR_HTTP_QUERY_BUSY: 'the query worker is busy or restarting (http.query.maxQueued queries wait at most): retry in a few seconds',
  SFA_ERR_KPI_QUERY: 'the KPI query cannot be answered as asked: "to" must be after "from", groupBy=shift needs shifts[] in the config, and a range with too many windows must be narrowed (or grouped coarser)',
  SFA_ERR_CALENDAR: 'a wall-clock calendar could not be computed: site.timezone must be an IANA zone (e.g. Europe/Berlin), shift and tariff times HH:MM, and a range with too many periods must be narrowed',
  SFA_ERR_RELOAD_REJECTED: 'the reloaded config is not valid: the agent keeps running on the old one; fix each path shown (`shopfloor-agent check`) and reload again',
  SFA_ERR_SHUTDOWN_TIMEOUT: 'the agent did not finish stopping within its deadline (10 s) and exited with code 1: the log line names the step that hung; samples not committed are redelivered by sources that acknowledge after commit',
  SFA_ERR_FLEET_STORE: 'the fleet store could not be opened or written: check database.url (PostgreSQL reachable, the role may create database.schema) or, without it, that fleet.dataDir is writable; the fleet retries a batch and acknowledges nothing it has not stored',
  SFA_ERR_FLEET_BROKER: 'the fleet cannot reach the central broker or was refused: check broker.url, credentials and TLS files; agents keep their samples until the fleet confirms them',
} as const;

export type ErrorCode = keyof typeof ERRORS;

export class AgentError extends Error {
  readonly code: ErrorCode;
  /** the message without its code (an HTTP body carries the code in a field of its own) */
  readonly detail: string;
  constructor(code: ErrorCode, detail: string, options?: { cause?: unknown }) {
    super(`${detail} [${code}]`, options);
    this.code = code;
    this.detail = detail;
    this.name = 'AgentError';
  }
  /** what to do about it */
  get hint(): string {
    return ERRORS[this.code];
  }
}

export function isAgentError(e: unknown): e is AgentError {
  return typeof e === 'object' && e !== null && typeof (e as { code?: unknown }).code === 'string' && String((e as { code: string }).code).startsWith('SFA_ERR_');
}
