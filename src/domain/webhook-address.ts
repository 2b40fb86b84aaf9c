import ipaddr from 'ipaddr.js';
import { MAX_WEBHOOK_URL_LENGTH } from './webhook-endpoint';
import { WebhookUrlRefusedError } from './webhook-errors';

/**
 * Where a webhook may be sent (SSRF): the rules for a URL a shop registers and for every address
 * a delivery would connect to. In AWS only https to public unicast addresses; the local runtime
 * relaxes exactly two things, plain http and the loopback range, for receivers on this machine.
 */
export interface WebhookNetworkPolicy {
  allowHttp: boolean;
  allowLoopback: boolean;
}

export const STRICT_NETWORK_POLICY: WebhookNetworkPolicy = { allowHttp: false, allowLoopback: false };

/**
 * Why an address may not be connected to, or undefined when it may. Only global unicast passes:
 * private, loopback, link-local (169.254.169.254, the metadata service), CGNAT (100.100.100.200),
 * multicast, unspecified, reserved, unique-local (fd00:ec2::254), and the IPv6 forms that carry
 * an IPv4 address inside (mapped, NAT64, 6to4, Teredo) are refused; a mapped address is judged as
 * the IPv4 address it carries.
 */
export function addressRefusal(address: string, policy: WebhookNetworkPolicy): string | undefined {
  if (!ipaddr.isValid(address)) return `${address} is not an IP address`;
  const parsed = ipaddr.process(address);
  const range = parsed.range();
  if (range === 'unicast') return undefined;
  if (range === 'loopback' && policy.allowLoopback) return undefined;
  return `${parsed.toString()} is a ${range} address`;
}

/** The IP address a URL's hostname spells (WHATWG URL has already turned 0x7f.1 or 2130706433 into 127.0.0.1), if it is one. */
export function ipLiteralOf(hostname: string): string | undefined {
  const bare = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
  return ipaddr.isValid(bare) && (bare.includes(':') || ipaddr.IPv4.isValidFourPartDecimal(bare)) ? bare : undefined;
}

/**
 * A URL a shop gives, checked before anything is sent to it: absolute, http(s) as the policy
 * allows, no credentials (they would show in every listing and log), no fragment, and a host that
 * is not itself a forbidden address. A host name is resolved and checked by the sender, at
 * registration and again at every connection (DNS answers change).
 */
export function parseWebhookUrl(raw: string, policy: WebhookNetworkPolicy): URL {
  if (raw.length > MAX_WEBHOOK_URL_LENGTH)
    throw new WebhookUrlRefusedError(`is longer than ${MAX_WEBHOOK_URL_LENGTH} characters`);
  if (!URL.canParse(raw)) throw new WebhookUrlRefusedError('is not an absolute URL');
  const url = new URL(raw);
  const schemes = policy.allowHttp ? ['https:', 'http:'] : ['https:'];
  if (!schemes.includes(url.protocol)) throw new WebhookUrlRefusedError(`must use ${schemes.join(' or ')}`);
  if (url.username || url.password)
    throw new WebhookUrlRefusedError('must not hold credentials: put a token in the path instead');
  if (url.hash) throw new WebhookUrlRefusedError('must not have a fragment');
  const literal = ipLiteralOf(url.hostname);
  const refusal = literal === undefined ? undefined : addressRefusal(literal, policy);
  if (refusal) throw new WebhookUrlRefusedError(`points at a forbidden address: ${refusal}`);
  return url;
}
