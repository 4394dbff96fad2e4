/** The OPC UA driver's options and every default in one object (STYLE.md habit 13). */

export interface OpcuaDriverOptions {
  applicationName: string;
  /** the PKI folder (agent.dataDir/pki) */
  pkiDir: string;
  /** how often the watchdog looks at its subscriptions, ms */
  watchdogTickMs: number;
  /** CreateMonitoredItems calls in flight at once per subscription */
  parallelCalls: number;
  /** stop() waits this long for the supervisor to tear the connection down, ms */
  stopTimeoutMs: number;
  /** the connect deadline (the source's connectTimeoutMs) grows by this per tag: subscribing many items takes time, ms */
  connectMsPerTag: number;
  /** each of re-activating and closing a session a broken connection left behind, ms */
  orphanCloseTimeoutMs: number;
  /** the fastest publishing interval asked of the server, whatever the tags' sampling intervals, ms */
  minPublishingIntervalMs: number;
  /** a subscription is silent after two keep-alive periods plus this margin, ms */
  silenceMarginMs: number;
  /** the watchdog's ServerStatus read, at most the source's keepAliveMs, ms */
  probeTimeoutMs: number;
  /** deleting a silent subscription before it is rebuilt, ms */
  deleteSubscriptionTimeoutMs: number;
  /** each of CloseSession and disconnect when a connection is torn down, ms */
  closeTimeoutMs: number;
}

export const OPCUA_DRIVER_DEFAULTS: OpcuaDriverOptions = {
  applicationName: 'shopfloor-agent',
  pkiDir: './data/pki',
  watchdogTickMs: 1000,
  parallelCalls: 1,
  stopTimeoutMs: 8000,
  connectMsPerTag: 2,
  orphanCloseTimeoutMs: 5000,
  minPublishingIntervalMs: 50,
  silenceMarginMs: 1000,
  probeTimeoutMs: 5000,
  deleteSubscriptionTimeoutMs: 3000,
  closeTimeoutMs: 2000,
};
