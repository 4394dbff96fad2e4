/** One connection attempt's client, session and subscriptions, and the signal that it must be rebuilt. */
import type { ClientSession, OPCUAClient } from 'node-opcua-client';
import type { LiveSubscription } from './opcua-subscription.ts';

export interface Live {
  client: OPCUAClient;
  session: ClientSession | undefined;
  subs: LiveSubscription[];
  /** resolves with the reason the connection must be rebuilt */
  broken: Promise<string>;
  breakWith: (reason: string) => void;
}

/** A fresh connection around a fresh client: it breaks when the client loses or closes its channel. */
export function liveConnection(client: OPCUAClient): Live {
  let breakWith: (reason: string) => void = () => undefined;
  const broken = new Promise<string>((res) => {
    breakWith = res;
  });
  const live: Live = { client, session: undefined, subs: [], broken, breakWith };
  client.on('connection_lost', () => live.breakWith('connection lost'));
  client.on('close', () => live.breakWith('connection closed'));
  return live;
}
