import { Webhook } from 'standardwebhooks';

/**
 * The Standard Webhooks headers of one attempt, signed by the `standardwebhooks` package:
 * `webhook-signature` holds one `v1,<base64 HMAC-SHA256 of id.timestamp.body>` per secret, space
 * separated (two during a rotation's overlap; a receiver accepts the message if any one verifies).
 */
export function webhookHeaders(
  secrets: readonly string[],
  message: { id: string; body: string; at: Date },
): Record<string, string> {
  // The package signs whole seconds; the header carries the same second.
  const timestamp = new Date(Math.floor(message.at.getTime() / 1000) * 1000);
  return {
    'webhook-id': message.id,
    'webhook-timestamp': String(timestamp.getTime() / 1000),
    'webhook-signature': secrets
      .map((secret) => new Webhook(secret).sign(message.id, timestamp, message.body))
      .join(' '),
  };
}
