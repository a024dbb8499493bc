/**
 * `POST /webhooks/ses`: SES events over SNS HTTP(S), for accounts whose topic already points at an
 * HTTP endpoint. No API key: every message's TopicArn and signature are checked before anything
 * else in it is used, and anything unverified gets 403 and changes nothing.
 *
 * - Notification: applied by the same ingestion code as the ingest function.
 * - SubscriptionConfirmation: confirmed (GET SubscribeURL) only for the configured topic, and only
 *   when SubscribeURL is SNS's own https endpoint (`sns.<region>.amazonaws.com`) for that topic.
 * - UnsubscribeConfirmation: verified and logged; nothing is called.
 *
 * Answers: 200 when done (a verified message that is not an SES event is logged and acknowledged,
 * since SNS resending it cannot help); 5xx when a retry may help (SNS redelivers); 403 unverified.
 */
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { attributed } from '../core/aws-calls';
import { HttpError } from '../core/errors';
import { jsonResponse, toApiRequest } from '../core/http/api';
import { errorResponse } from '../core/http/errors';
import { lambdaContext, type Logger } from '../core/log';
import { type EmfMetrics, metrics as rootMetrics, publishMetrics } from '../core/metrics';
import type { IngestOutcome, SnsMessageFields } from '../ingest/core';
import type { SnsVerifier } from './verify';

export interface SnsHttpsDeps {
  readonly verifier: SnsVerifier;
  /** The only topic whose messages are accepted. */
  readonly topicArn: string;
  /** The ingestion core, bound to its adapters. */
  ingest(message: SnsMessageFields): Promise<IngestOutcome>;
  /** Confirms a subscription by visiting its SubscribeURL (already checked). */
  confirmSubscription(url: string): Promise<void>;
  readonly log: Logger;
  /** Flushed when each request ends. @default the process's metrics */
  readonly metrics?: Pick<EmfMetrics, 'flush'>;
}

type Handler = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;

const unverified = () => new HttpError(403, 'security_error', 'The SNS message could not be verified.');

/** SNS's own API endpoints: a SubscribeURL anywhere else is not followed. */
const AWS_SNS_HOST = /^sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$/;

/** The SubscribeURL, if it is SNS's ConfirmSubscription for `topicArn` over https. */
export function checkSubscribeUrl(raw: unknown, topicArn: string): string | undefined {
  if (typeof raw !== 'string' || /[\\\s]/.test(raw)) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return undefined;
  }
  const ok = url.protocol === 'https:' && url.port === '' && url.username === '' && url.password === '' &&
    AWS_SNS_HOST.test(url.hostname) && url.pathname === '/' &&
    url.searchParams.get('Action') === 'ConfirmSubscription' && url.searchParams.get('TopicArn') === topicArn &&
    (url.searchParams.get('Token') ?? '') !== '';
  return ok ? raw : undefined;
}

/** Visits a SubscribeURL: no redirects, a timeout, 200 expected. */
export async function confirmByGet(url: string): Promise<void> {
  const res = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(10_000) });
  await res.arrayBuffer().catch(() => undefined);
  if (res.status !== 200) throw new Error(`ConfirmSubscription answered ${res.status}`);
}

function parseMessage(body: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(body);
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw unverified();
}

export function createSnsHttpsHandler(deps: SnsHttpsDeps): Handler {
  const core = async (event: APIGatewayProxyEventV2, context: Context): Promise<APIGatewayProxyStructuredResultV2> => {
    const request = toApiRequest(event);
    const message = parseMessage(request.body);
    const log = deps.log.child({
      requestId: request.requestId || context.awsRequestId,
      route: 'POST /webhooks/ses',
      snsMessageId: typeof message.MessageId === 'string' ? message.MessageId.slice(0, 100) : undefined,
    });
    const headerType = request.headers['x-amz-sns-message-type'];
    if (message.TopicArn !== deps.topicArn || (headerType !== undefined && headerType !== message.Type)) {
      log.warn('SNS message refused: not from the configured topic');
      throw unverified();
    }
    try {
      await deps.verifier.verify(message);
    } catch (error) {
      log.warn('SNS message refused: its signature is not verified', { reason: error instanceof Error ? error.message : String(error) });
      throw unverified();
    }

    switch (message.Type) {
      case 'Notification': {
        const outcome = await deps.ingest(message);
        return jsonResponse({ statusCode: 200, body: { received: true, outcome } });
      }
      case 'SubscriptionConfirmation': {
        const url = checkSubscribeUrl(message.SubscribeURL, deps.topicArn);
        if (!url) {
          log.warn('SNS subscription not confirmed: its SubscribeURL is not SNS\'s for the configured topic');
          throw unverified();
        }
        await deps.confirmSubscription(url);
        log.info('SNS subscription confirmed');
        return jsonResponse({ statusCode: 200, body: { confirmed: true } });
      }
      default:
        // The verifier accepts only the three types: this is an UnsubscribeConfirmation.
        log.warn('SNS unsubscribed this endpoint: no more SES events will arrive here until it is subscribed again');
        return jsonResponse({ statusCode: 200, body: { received: true } });
    }
  };

  const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Error, Context>(core).use(lambdaContext()).use(publishMetrics(deps.metrics ?? rootMetrics)).use({
    onError: async (request) => {
      request.response = errorResponse(request.error, deps.log.child({ route: 'POST /webhooks/ses' }), request.event.requestContext?.requestId || request.context?.awsRequestId);
    },
  });
  return attributed('snsHttps', handler);
}
