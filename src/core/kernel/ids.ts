import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

/**
 * Time-ordered ids: a prefix, 10 characters of milliseconds, 12 random characters. 26 characters
 * in all, within WeChat's 6–32 limit for out_trade_no and URL-safe everywhere.
 */
export function newId(prefix: 'ord' | 'pay' | 'out' | 'ref' | 'whe', now: Date = new Date()): string {
  let time = now.getTime();
  let encodedTime = '';
  for (let i = 0; i < 10; i++) {
    encodedTime = ALPHABET[time % 32] + encodedTime;
    time = Math.floor(time / 32);
  }
  const random = [...randomBytes(12)].map((byte) => ALPHABET[byte % 32]).join('');
  return `${prefix}_${encodedTime}${random}`;
}
