/**
 * A small Route 53 stand-in on 127.0.0.1 for the calls Sesame makes, in Route 53's REST-XML, so the
 * real `@aws-sdk/client-route-53` client talks to it:
 *
 *   ChangeResourceRecordSets  POST /2013-04-01/hostedzone/{Id}/rrset
 *   ListResourceRecordSets    GET  /2013-04-01/hostedzone/{Id}/rrset?name=&type=&maxitems=
 *
 * A change batch is all or nothing, as in Route 53: a CREATE of a record set that exists, or a
 * DELETE of one that does not exist with exactly those values and TTL, refuses the whole batch with
 * InvalidChangeBatch (Route 53's messages); a name outside the zone too. Requests are parsed with the
 * SDK's own XML parser. No signatures are checked.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { closeServer, listenOnLoopback } from '../../lambdas/local/listen';
import { randomUUID } from 'node:crypto';
import { parseXML, XmlNode, XmlText } from '@aws-sdk/xml-builder';

export interface StandInRecordSet {
  readonly name: string;
  readonly type: string;
  readonly ttl: number;
  readonly values: readonly string[];
}

export interface StandInChange {
  readonly zoneId: string;
  readonly action: string;
  readonly set: StandInRecordSet;
}

export interface Route53StandIn {
  readonly endpoint: string;
  /** Every change applied, in order. */
  readonly changes: StandInChange[];
  /** The record sets of a zone. */
  records(zoneId: string): StandInRecordSet[];
  /** Puts a record set as if someone else had made it. */
  seed(zoneId: string, set: StandInRecordSet): void;
  close(): Promise<void>;
}

const NS = 'https://route53.amazonaws.com/doc/2013-04-01/';
const normal = (name: string) => name.toLowerCase().replace(/\.$/, '');
const key = (name: string, type: string) => `${normal(name)}|${type}`;
const asArray = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

class ChangeRefused extends Error {}

export async function startRoute53StandIn(zones: readonly { id: string; name: string }[]): Promise<Route53StandIn> {
  const sets = new Map<string, Map<string, StandInRecordSet>>(zones.map((z) => [z.id, new Map()]));
  const zoneNames = new Map(zones.map((z) => [z.id, z.name]));
  const changes: StandInChange[] = [];

  const send = (res: ServerResponse, status: number, node: XmlNode) => {
    res.writeHead(status, { 'content-type': 'text/xml', 'x-amzn-requestid': randomUUID() });
    res.end(`<?xml version="1.0"?>\n${node.toString()}`);
  };
  const leaf = (name: string, value: string) => new XmlNode(name).addChildNode(new XmlText(value));
  const error = (res: ServerResponse, status: number, code: string, message: string) =>
    send(res, status, new XmlNode('ErrorResponse').addAttribute('xmlns', NS)
      .addChildNode(new XmlNode('Error').addChildNode(leaf('Type', 'Sender')).addChildNode(leaf('Code', code)).addChildNode(leaf('Message', message)))
      .addChildNode(leaf('RequestId', randomUUID())));

  const change = (zoneId: string, body: string) => {
    const zone = sets.get(zoneId)!;
    const parsed = parseXML(body) as { ChangeResourceRecordSetsRequest?: { ChangeBatch?: { Changes?: { Change?: unknown } } } };
    type Raw = { Action: string; ResourceRecordSet: { Name: string; Type: string; TTL: string; ResourceRecords?: { ResourceRecord?: unknown } } };
    const batch = asArray(parsed.ChangeResourceRecordSetsRequest?.ChangeBatch?.Changes?.Change as Raw | Raw[]).map((c) => ({
      action: c.Action,
      set: {
        name: normal(c.ResourceRecordSet.Name), type: c.ResourceRecordSet.Type, ttl: Number(c.ResourceRecordSet.TTL),
        values: asArray(c.ResourceRecordSet.ResourceRecords?.ResourceRecord as { Value: string } | { Value: string }[]).map((r) => r.Value),
      },
    }));
    const next = new Map(zone);
    const errors: string[] = [];
    for (const { action, set } of batch) {
      const zoneName = zoneNames.get(zoneId)!;
      const shown = `[name='${set.name}.', type='${set.type}']`;
      if (set.name !== zoneName && !set.name.endsWith(`.${zoneName}`)) errors.push(`RRSet with DNS name ${set.name}. is not permitted in zone ${zoneName}.`);
      else if (action === 'CREATE' && next.has(key(set.name, set.type))) errors.push(`Tried to create resource record set ${shown} but it already exists`);
      else if (action === 'DELETE') {
        const existing = next.get(key(set.name, set.type));
        if (!existing) errors.push(`Tried to delete resource record set ${shown} but it was not found`);
        else if (existing.ttl !== set.ttl || existing.values.join('\n') !== set.values.join('\n')) errors.push(`Tried to delete resource record set ${shown} but the values provided do not match the current values`);
        else next.delete(key(set.name, set.type));
      } else if (action === 'CREATE' || action === 'UPSERT') next.set(key(set.name, set.type), set);
      else errors.push(`Unknown action ${action}`);
    }
    if (errors.length > 0) throw new ChangeRefused(`[${errors.join(', ')}]`);
    sets.set(zoneId, next);
    changes.push(...batch.map((c) => ({ zoneId, ...c })));
  };

  const list = (zoneId: string, query: URLSearchParams): XmlNode => {
    const start = query.get('name') ? normal(query.get('name')!) : undefined;
    const type = query.get('type') ?? undefined;
    const max = Number(query.get('maxitems') ?? 100);
    const all = [...sets.get(zoneId)!.values()].sort((a, b) => (a.name === b.name ? a.type.localeCompare(b.type) : a.name.localeCompare(b.name)));
    const from = all.filter((s) => start === undefined || s.name > start || (s.name === start && (type === undefined || s.type >= type)));
    const page = from.slice(0, max);
    const out = new XmlNode('ResourceRecordSets');
    for (const s of page) {
      const records = new XmlNode('ResourceRecords');
      for (const v of s.values) records.addChildNode(new XmlNode('ResourceRecord').addChildNode(leaf('Value', v)));
      out.addChildNode(new XmlNode('ResourceRecordSet').addChildNode(leaf('Name', `${s.name}.`)).addChildNode(leaf('Type', s.type)).addChildNode(leaf('TTL', String(s.ttl))).addChildNode(records));
    }
    return new XmlNode('ListResourceRecordSetsResponse').addAttribute('xmlns', NS).addChildNode(out)
      .addChildNode(leaf('IsTruncated', String(from.length > max))).addChildNode(leaf('MaxItems', String(max)));
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const m = /^\/2013-04-01\/hostedzone\/(?:hostedzone\/)?([A-Z0-9]+)\/rrset\/?$/.exec(url.pathname);
      if (!m) return error(res, 404, 'UnknownOperation', 'The stand-in does not implement this operation.');
      const zoneId = m[1]!;
      if (!sets.has(zoneId)) return error(res, 404, 'NoSuchHostedZone', `No hosted zone found with ID: ${zoneId}`);
      if (req.method === 'GET') return send(res, 200, list(zoneId, url.searchParams));
      try {
        change(zoneId, body);
      } catch (e) {
        if (e instanceof ChangeRefused) return error(res, 400, 'InvalidChangeBatch', e.message);
        return error(res, 400, 'InvalidInput', 'The request could not be read.');
      }
      send(res, 200, new XmlNode('ChangeResourceRecordSetsResponse').addAttribute('xmlns', NS)
        .addChildNode(new XmlNode('ChangeInfo').addChildNode(leaf('Id', `/change/C${randomUUID().replace(/-/g, '').slice(0, 12).toUpperCase()}`))
          .addChildNode(leaf('Status', 'PENDING')).addChildNode(leaf('SubmittedAt', new Date().toISOString()))));
    });
  });
  const port = await listenOnLoopback(server);
  return {
    endpoint: `http://127.0.0.1:${port}`,
    changes,
    records: (zoneId) => [...(sets.get(zoneId)?.values() ?? [])],
    seed: (zoneId, set) => void sets.get(zoneId)!.set(key(set.name, set.type), { ...set, name: normal(set.name) }),
    close: () => closeServer(server),
  };
}
