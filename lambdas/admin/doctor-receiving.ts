/**
 * SES receiving (docs/inbound.md): which receipt rule set is active in the account and region, and
 * whether it is Sesame's. SES allows one active rule set, and the stack never activates its own (an
 * operator's active set would be replaced): this check says whether the explicit step was taken.
 * Nothing to report when receiving is off for the stack (SESAME_RECEIPT_RULE_SET empty).
 */
import { DescribeActiveReceiptRuleSetCommand, type SESClient } from '@aws-sdk/client-ses';
import { RECEIPT_RULE_NAME } from '../core/domain/inbound';
import { type CheckResult, type DoctorDeps, describeError, fail, ok, warn } from './doctor-check';

const NAME = 'receiving';

export async function checkReceiving(deps: Pick<DoctorDeps, 'config' | 'sesReceipt'>): Promise<CheckResult[]> {
  if (deps.config.local) return [ok(NAME, 'local mode receives mail over SMTP (SESAME_SMTP_PORT, printed at start) through the same inbound core')];
  const ours = deps.config.receiptRuleSet;
  if (ours === undefined || !deps.sesReceipt) return [];
  let active: { name?: string; rule?: { enabled: boolean; scan: boolean } };
  try {
    const res = await (deps.sesReceipt as Pick<SESClient, 'send'>).send(new DescribeActiveReceiptRuleSetCommand({}));
    const rule = res.Rules?.find((r) => r.Name === RECEIPT_RULE_NAME);
    active = { ...(res.Metadata?.Name ? { name: res.Metadata.Name } : {}), ...(rule ? { rule: { enabled: rule.Enabled === true, scan: rule.ScanEnabled === true } } : {}) };
  } catch (error) {
    return [fail(NAME, `cannot read the active receipt rule set: ${describeError(error)}`)];
  }
  const activate = `aws ses set-active-receipt-rule-set --rule-set-name ${ours}`;
  if (active.name === undefined) {
    return [warn(NAME, `no receipt rule set is active, so SES receives nothing: activate Sesame's with \`${activate}\` (no other set is replaced)`)];
  }
  if (active.name !== ours) {
    return [warn(NAME, `the active receipt rule set is ${active.name}, not Sesame's ${ours}: Sesame receives nothing. Activating ${ours} (\`${activate}\`) would replace ${active.name}, whose rules would stop; move them into ${ours} first, or keep ${active.name}`)];
  }
  if (!active.rule) return [fail(NAME, `Sesame's rule set ${ours} is active but has no rule ${RECEIPT_RULE_NAME}: deploy the stack again`)];
  if (!active.rule.enabled) return [fail(NAME, `Sesame's rule set ${ours} is active but its rule ${RECEIPT_RULE_NAME} is disabled: enable it (or deploy the stack again)`)];
  return [ok(NAME, `Sesame's receipt rule set ${ours} is active; its rule ${RECEIPT_RULE_NAME} is enabled${active.rule.scan ? ', with spam and virus scanning' : ' (scanning is off: virus verdicts are DISABLED)'}`)];
}
