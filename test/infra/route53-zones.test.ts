/**
 * Route 53 zones (opt-in): the domains function may change records in the given zones only, limited
 * by Route 53's condition keys to what Sesame writes. The policy the stack synthesizes is evaluated
 * offline with @cloud-copilot/iam-simulate for the calls Sesame makes and for calls it must not.
 */
import { runSimulation } from '@cloud-copilot/iam-simulate';
import { actionsOf, environmentOf, sesameStack, statementsOf, type Statement } from './helpers';

const ZONES = [{ id: 'Z0SESAMETEST0001', name: 'zone-test.com' }, { id: 'Z0SESAMETEST0002', name: 'other-zone.org' }];
const ACCOUNT = '123456789012';
const zoneArn = (id: string) => `arn:aws:route53:::hostedzone/${id}`;

describe('Route 53 zones', () => {
  const { stack, template } = sesameStack({ route53Zones: ZONES });
  const route53 = statementsOf(stack, template, 'domains').filter((s) => actionsOf([s]).some((a) => a.startsWith('route53:')));

  /** The synthesized statements with their ARNs resolved (the partition is `aws`). */
  const policy = {
    Version: '2012-10-17',
    Statement: route53.map((s: Statement & { Condition?: unknown }) => ({
      ...s,
      Resource: JSON.stringify(s.Resource).includes('Z0SESAMETEST0001') ? zoneArn('Z0SESAMETEST0001') : zoneArn('Z0SESAMETEST0002'),
    })),
  };

  async function decide(zoneId: string, names: string[], types: string[], actions: string[]): Promise<string> {
    const result = await runSimulation({
      request: {
        principal: `arn:aws:iam::${ACCOUNT}:role/domains`,
        action: 'route53:ChangeResourceRecordSets',
        resource: { resource: zoneArn(zoneId), accountId: ACCOUNT },
        contextVariables: {
          'route53:ChangeResourceRecordSetsNormalizedRecordNames': names,
          'route53:ChangeResourceRecordSetsRecordTypes': types,
          'route53:ChangeResourceRecordSetsActions': actions,
        },
      },
      identityPolicies: [{ name: 'domains', policy }],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
    }, {});
    if (result.resultType !== 'single') throw new Error(JSON.stringify(result).slice(0, 500));
    return result.overallResult;
  }

  it('grants ChangeResourceRecordSets, one statement per zone, and ListResourceRecordSets on the zones (the MX check of receiving), and names the zones to the function', () => {
    expect(route53).toHaveLength(3);
    expect(actionsOf(route53)).toEqual(['route53:ChangeResourceRecordSets', 'route53:ChangeResourceRecordSets', 'route53:ListResourceRecordSets']);
    expect(route53[2]!.Resource).toHaveLength(2);
    expect(environmentOf(stack, template, 'domains').SESAME_ROUTE53_ZONES).toBe('Z0SESAMETEST0001:zone-test.com,Z0SESAMETEST0002:other-zone.org');
    for (const name of ['send', 'account', 'ingest', 'deliver', 'snsHttps', 'verifyDomains'] as const) {
      expect([name, actionsOf(statementsOf(stack, template, name)).filter((a) => a.startsWith('route53:'))]).toEqual([name, []]);
    }
  });

  it('allows the changes Sesame makes: DKIM UPSERTs, MAIL FROM and DMARC CREATEs, their DELETEs', async () => {
    const d = 'acme.zone-test.com';
    expect(await decide(ZONES[0]!.id, [`tok1._domainkey.${d}`, `tok2._domainkey.${d}`, `tok3._domainkey.${d}`], ['CNAME'], ['UPSERT'])).toBe('Allowed');
    expect(await decide(ZONES[0]!.id, [`send.${d}`], ['MX'], ['CREATE'])).toBe('Allowed');
    expect(await decide(ZONES[0]!.id, [`_dmarc.${d}`], ['TXT'], ['CREATE'])).toBe('Allowed');
    expect(await decide(ZONES[0]!.id, [`send.${d}`], ['TXT'], ['DELETE'])).toBe('Allowed');
    expect(await decide(ZONES[1]!.id, ['send.other-zone.org'], ['MX'], ['CREATE'])).toBe('Allowed');
  });

  it("refuses the zone's apex, other record types, another zone's names and zones it was not given", async () => {
    expect(await decide(ZONES[0]!.id, ['zone-test.com'], ['MX'], ['UPSERT'])).not.toBe('Allowed');
    expect(await decide(ZONES[0]!.id, ['www.zone-test.com'], ['A'], ['UPSERT'])).not.toBe('Allowed');
    expect(await decide(ZONES[0]!.id, ['zone-test.com'], ['NS'], ['UPSERT'])).not.toBe('Allowed');
    expect(await decide(ZONES[0]!.id, ['send.other-zone.org'], ['MX'], ['CREATE'])).not.toBe('Allowed');
    expect(await decide('Z0NOTGIVEN000003', ['send.x.zone-test.com'], ['MX'], ['CREATE'])).not.toBe('Allowed');
  });

  it('grants nothing of Route 53 without zones', () => {
    const plain = sesameStack();
    expect(actionsOf(statementsOf(plain.stack, plain.template, 'domains')).filter((a) => a.startsWith('route53:'))).toEqual([]);
    expect(environmentOf(plain.stack, plain.template, 'domains').SESAME_ROUTE53_ZONES).toBeUndefined();
  });
});
