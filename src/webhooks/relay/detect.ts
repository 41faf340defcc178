/**
 * Which registry sent a payload, and its parser: a CloudEvent (binary `ce-*` headers, the
 * `application/cloudevents+json` media type, or `specversion`), the CNCF registry's envelope
 * (`events` array), Docker Hub's webhook (`push_data` and `repository`), Harbor's Default
 * payload (`type` and `occur_at`), in that order. Anything else is a BAD_REQUEST that names what
 * the relay reads.
 */
import { fail } from '../../domain/index.ts';
import { isCloudEvent, isHarborDefault, parseCloudEvent, parseHarborDefault } from './harbor.ts';
import { isDistributionEnvelope, parseDistribution } from './distribution.ts';
import { isDockerHub, parseDockerHub } from './dockerhub.ts';
import { obj, type ParsedRelay, type RelayContext, type RelayInput } from './types.ts';

/** The message of a payload no parser reads. */
export const unrecognisedMessage =
  'relay: unrecognised payload: expected Harbor\'s Default payload ("type", "occur_at", "event_data"), a CloudEvent ("specversion" or ce-* headers), the CNCF registry\'s envelope ({"events":[...]}) or Docker Hub\'s webhook ("push_data", "repository")';

/** Parses a relayed payload from whichever registry sent it. */
export function parseRelayPayload(input: RelayInput, ctx: RelayContext): ParsedRelay {
  const body = obj(input.body);
  if (isCloudEvent(input, body)) return parseCloudEvent(input, ctx);
  if (body === null) throw fail('BAD_REQUEST', input.body === undefined ? 'relay: the body is empty; expected a JSON webhook payload' : 'relay: the body must be a JSON object');
  if (isDistributionEnvelope(body)) return parseDistribution(input, ctx);
  if (isDockerHub(body)) return parseDockerHub(input, ctx);
  if (isHarborDefault(body)) return parseHarborDefault(input, ctx);
  throw fail('BAD_REQUEST', unrecognisedMessage);
}
