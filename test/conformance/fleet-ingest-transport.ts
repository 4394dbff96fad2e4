/**
 * The fleet ingest transport's conformance suite (agent/fleet/ingest/transport.ts): what the
 * batcher, the confirmer and the HTTP API rely on, whatever carries the messages. Each transport
 * runs it from its own test file with a harness that starts its broker (MQTT: a Mosquitto of the
 * test's own; JetStream: a nats-server of the test's own with its MQTT listener). Agents are
 * played by plain MQTT 3.1.1 clients, as the real agent connects.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { BrokerState, IngestTransport } from '../../agent/fleet/ingest/index.ts';
import { uniqueTopicPrefix, waitFor } from '../helpers/peers.ts';

export interface TransportSetup {
  prefix: string;
  group: string;
  /** the member's identity: the same id again resumes what the broker keeps for it */
  id: string;
  maxPending?: number;
}

export interface TransportHarness {
  /** starts the broker; false: not available here (the suite skips; CI fails in the harness) */
  setup(): Promise<boolean>;
  teardown(): Promise<void>;
  transport(s: TransportSetup): IngestTransport;
  /** where agents publish and subscribe (MQTT) */
  mqttUrl(): string;
  /** kills the broker and starts it again (same port, same store) */
  restartBroker(): Promise<void>;
  /**
   * JetStream: a member of the group that takes up to n messages and dies without acknowledging
   * them (a killed worker); resolves to how many it took. Absent for MQTT, where a session's
   * unacknowledged messages wait for that session and are not handed to another member.
   */
  crashMember?(s: TransportSetup, n: number): Promise<number>;
  /** JetStream: how long a delivery waits for its ack before it goes to another member */
  ackWaitMs?: number;
}

interface Received {
  topic: string;
  payload: string;
  /** the Buffer as handed over (a transport may hand out a view of its read buffers) */
  raw: Buffer;
  ack: () => void;
}

/** A started transport that records what arrives and its states. */
class Member {
  readonly got: Received[] = [];
  readonly states: BrokerState[] = [];
  constructor(readonly t: IngestTransport) {}

  async start(autoAck: boolean): Promise<this> {
    await this.t.start({
      onMessage: (topic, payload, ack) => {
        this.got.push({ topic, payload: payload.toString('utf8'), raw: payload, ack });
        if (autoAck) ack();
      },
      onState: (s) => this.states.push(s),
    });
    return this;
  }

  of(kind: string): Received[] {
    return this.got.filter((r) => r.topic.endsWith(`/${kind}`));
  }
}

export function ingestTransportSuite(name: string, h: TransportHarness): void {
  describe(`fleet ingest transport conformance: ${name}`, () => {
    let available = false;
    const members: Member[] = [];
    const agents: MqttClient[] = [];

    beforeAll(async () => {
      available = await h.setup();
    }, 60_000);
    afterAll(async () => {
      await h.teardown();
    });
    afterEach(async () => {
      for (const m of members.splice(0)) await m.t.stop();
      for (const a of agents.splice(0)) await a.endAsync(true);
    });

    const setupFor = (id: string): TransportSetup => ({ prefix: uniqueTopicPrefix('ingest'), group: `g-${Math.random().toString(36).slice(2, 8)}`, id });
    const member = async (s: TransportSetup, autoAck = true): Promise<Member> => {
      const m = new Member(h.transport(s));
      members.push(m);
      await m.start(autoAck);
      await waitFor(() => m.states.includes('connected'), 15_000, `${name} connected`);
      return m;
    };
    const stopMember = async (m: Member): Promise<void> => {
      members.splice(members.indexOf(m), 1);
      await m.t.stop();
    };
    const agent = async (): Promise<MqttClient> => {
      const c = await mqtt.connectAsync(h.mqttUrl(), { protocolVersion: 4, clean: true, clientId: `agent-${Math.random().toString(36).slice(2, 10)}`, reconnectPeriod: 200 });
      agents.push(c);
      return c;
    };
    const publishSamples = async (a: MqttClient, prefix: string, ids: number[]): Promise<void> => {
      for (const id of ids) await a.publishAsync(`${prefix}/site-a/edge-1/samples`, JSON.stringify({ firstId: id }), { qos: 1 });
    };
    const ids = (rs: Received[]): number[] => rs.map((r) => (JSON.parse(r.payload) as { firstId: number }).firstId);

    it('delivers a message with its topic in MQTT form', async ({ skip }) => {
      if (!available) skip();
      const s = setupFor('f1');
      const m = await member(s);
      const a = await agent();
      await a.publishAsync(`${s.prefix}/site-a/edge-1/hours/press-1`, '{"hour":1}', { qos: 1 });
      await publishSamples(a, s.prefix, [1]);
      await waitFor(() => m.got.length >= 2, 10_000, 'two messages');
      expect(m.got.map((r) => [r.topic, r.payload]).sort()).toEqual([
        [`${s.prefix}/site-a/edge-1/hours/press-1`, '{"hour":1}'],
        [`${s.prefix}/site-a/edge-1/samples`, '{"firstId":1}'],
      ]);
    });

    it('a payload handed over stays intact while later messages arrive (large payloads, read in pieces)', async ({ skip }) => {
      if (!available) skip();
      const s = setupFor('f1b');
      // not acknowledged: held as the batcher holds them until the commit
      const m = await member(s, false);
      const a = await agent();
      const n = 12;
      const body = (i: number): Buffer => Buffer.from(Array.from({ length: 150_000 }, (_, j) => (i * 37 + j * 7) % 251));
      for (let i = 0; i < n; i++) await a.publishAsync(`${s.prefix}/site-a/edge-1/hours/m${i}`, body(i), { qos: 1 });
      await waitFor(() => m.got.length >= n, 20_000, `${n} large messages`);
      for (const r of m.got) {
        const i = Number(r.topic.slice(r.topic.lastIndexOf('/m') + 2));
        expect(r.raw.equals(body(i)), r.topic).toBe(true);
      }
      for (const r of m.got) r.ack();
    });

    it('after a restart, delivers again what was not acknowledged, and not what was (stop() leaves it for redelivery)', async ({ skip }) => {
      if (!available) skip();
      const s = setupFor('f2');
      const first = await member(s, false);
      const a = await agent();
      await publishSamples(a, s.prefix, [1, 2, 3]);
      await waitFor(() => first.of('samples').length === 3, 10_000, 'three samples messages');
      for (const r of first.got.filter((x) => ids([x])[0] !== 2)) r.ack();
      // the acknowledgements reach the broker before the member goes
      await new Promise((r) => setTimeout(r, 300));
      await stopMember(first);
      const again = await member(s);
      // MQTT: at once (the session's unacknowledged messages); JetStream: after the ack wait
      await waitFor(() => again.of('samples').length >= 1, (h.ackWaitMs ?? 0) + 15_000, 'the unacknowledged message again');
      await new Promise((r) => setTimeout(r, 1000));
      expect(ids(again.of('samples'))).toEqual([2]);
    });

    it('two members of one group split the load; each message reaches one of them', async ({ skip }) => {
      if (!available) skip();
      const s = setupFor('f3');
      const m1 = await member(s);
      const m2 = await member({ ...s, id: 'f3b' });
      const a = await agent();
      const n = 200;
      await publishSamples(a, s.prefix, Array.from({ length: n }, (_, i) => i + 1));
      await waitFor(() => m1.of('samples').length + m2.of('samples').length >= n, 20_000, `${n} messages across the group`);
      await new Promise((r) => setTimeout(r, 500));
      const all = [...ids(m1.of('samples')), ...ids(m2.of('samples'))];
      expect(all.length).toBe(n);
      expect(new Set(all).size).toBe(n);
      expect(m1.of('samples').length).toBeGreaterThan(0);
      expect(m2.of('samples').length).toBeGreaterThan(0);
    });

    it('every member receives status and plant, also those published before it started', async ({ skip }) => {
      if (!available) skip();
      const s = setupFor('f4');
      // the first member sets up what keeps them (JetStream creates its streams at start)
      await stopMember(await member(s));
      const a = await agent();
      await a.publishAsync(`${s.prefix}/site-a/edge-1/status`, 'online', { qos: 1, retain: true });
      await a.publishAsync(`${s.prefix}/site-a/edge-1/plant`, '{"machines":[]}', { qos: 1, retain: true });
      await new Promise((r) => setTimeout(r, 300));
      const m1 = await member({ ...s, id: 'f4a' });
      const m2 = await member({ ...s, id: 'f4b' });
      for (const m of [m1, m2]) await waitFor(() => m.of('status').length >= 1 && m.of('plant').length >= 1, 10_000, 'status and plant in each member');
      await a.publishAsync(`${s.prefix}/site-a/edge-1/status`, 'offline', { qos: 1, retain: true });
      for (const m of [m1, m2]) await waitFor(() => m.of('status').some((r) => r.payload === 'offline'), 10_000, 'the new status in each member');
      expect(m1.of('plant')[0]?.topic).toBe(`${s.prefix}/site-a/edge-1/plant`);
    });

    it('a confirmation reaches an MQTT subscriber of the agent confirm topic', async ({ skip }) => {
      if (!available) skip();
      const s = setupFor('f5');
      const m = await member(s);
      const a = await agent();
      const got: string[] = [];
      a.on('message', (topic, payload) => {
        if (topic === `${s.prefix}/site-a/edge-1/confirm`) got.push(payload.toString('utf8'));
      });
      await a.subscribeAsync(`${s.prefix}/site-a/edge-1/confirm`, { qos: 1 });
      const body = JSON.stringify({ instance: 'i1', confirmedId: 42, at: new Date().toISOString() });
      await waitFor(
        () => {
          m.t.publishConfirm(`${s.prefix}/site-a/edge-1/confirm`, body);
          return got.length > 0;
        },
        10_000,
        'the confirmation at the agent',
        250,
      );
      expect(got[0]).toBe(body);
    });

    it('reconnects by itself when the broker goes away and comes back', async ({ skip }) => {
      if (!available) skip();
      const s = setupFor('f6');
      const m = await member(s);
      await h.restartBroker();
      await waitFor(() => m.states.includes('disconnected') && m.states.at(-1) === 'connected', 30_000, 'disconnected, then connected again');
      const a = await agent();
      await publishSamples(a, s.prefix, [7]);
      await waitFor(() => ids(m.of('samples')).includes(7), 20_000, 'a message after the reconnect');
    }, 60_000);

    // a transport with an ack wait (JetStream) only: MQTT redelivers on reconnect, not on a timer
    if (h.ackWaitMs !== undefined) {
      it('what a live member holds past the ack wait (a commit being retried) stays with it, and the backlog shows it (JetStream)', async ({ skip }) => {
        if (!available) skip();
        const s = setupFor('f8');
        const holder = await member(s, false);
        const a = await agent();
        await publishSamples(a, s.prefix, [1, 2, 3]);
        await waitFor(() => holder.of('samples').length === 3, 10_000, 'three held messages');
        // a second member joins the group while the holder keeps them unacknowledged …
        const back = await member({ ...s, id: 'f8b' });
        await waitFor(() => holder.t.lag?.()?.ackPending === 3, 10_000, 'three delivered and unacknowledged in the backlog');
        // … and after twice the ack wait none went to the other member or came back
        await new Promise((r) => setTimeout(r, h.ackWaitMs! * 2));
        expect(back.of('samples')).toEqual([]);
        expect(holder.of('samples').length).toBe(3);
        for (const r of holder.got) r.ack();
        await waitFor(() => holder.t.lag?.()?.ackPending === 0, 10_000, 'nothing unacknowledged after the acks');
        expect(holder.t.lag?.()).toMatchObject({ pending: 0, consumer: s.group });
      }, 60_000);

      it('what a killed member held goes to another member after the ack wait (JetStream)', async ({ skip }) => {
        if (!available || !h.crashMember) skip();
        const s = setupFor('f7');
        await stopMember(await member(s));
        const a = await agent();
        await publishSamples(a, s.prefix, [1, 2, 3]);
        const taken = await h.crashMember!({ ...s, id: 'f7-dead' }, 3);
        expect(taken).toBe(3);
        const t0 = Date.now();
        const m = await member({ ...s, id: 'f7b' });
        await waitFor(() => m.of('samples').length === 3, h.ackWaitMs! + 15_000, 'the three messages at the other member');
        expect(Date.now() - t0).toBeGreaterThanOrEqual(h.ackWaitMs! / 2);
        expect(ids(m.of('samples')).sort()).toEqual([1, 2, 3]);
      }, 60_000);
    }
  });
}
