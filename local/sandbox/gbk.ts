/**
 * A GBK encoder, for the Alipay simulator's bill files (Node decodes GBK but cannot encode it).
 * The reverse table is built once, on first use, by decoding every two-byte GBK code (lead
 * 0x81–0xFE, trail 0x40–0xFE but 0x7F) with Node's own decoder, so both directions agree with
 * what the merchant's TextDecoder('gbk') reads. Where several codes decode to one character the
 * first is kept.
 */

let reverseTable: Map<number, number> | undefined;

function gbkTable(): Map<number, number> {
  if (reverseTable) return reverseTable;
  const decoder = new TextDecoder('gbk', { fatal: true });
  const table = new Map<number, number>();
  for (let lead = 0x81; lead <= 0xfe; lead++) {
    for (let trail = 0x40; trail <= 0xfe; trail++) {
      if (trail === 0x7f) continue;
      let text: string;
      try {
        text = decoder.decode(Uint8Array.of(lead, trail));
      } catch {
        continue; // no character at this code
      }
      const codePoint = text.codePointAt(0);
      if (codePoint !== undefined && text.length === 1 && !table.has(codePoint))
        table.set(codePoint, (lead << 8) | trail);
    }
  }
  reverseTable = table;
  return table;
}

/** `text` in GBK; a character GBK lacks (an emoji, say) becomes `?`, as a GBK export would show it. */
export function encodeGbk(text: string): Buffer {
  const table = gbkTable();
  const bytes: number[] = [];
  for (const char of text) {
    const codePoint = char.codePointAt(0) ?? 0x3f;
    const code = codePoint < 0x80 ? codePoint : table.get(codePoint);
    if (code === undefined) bytes.push(0x3f);
    else if (code < 0x100) bytes.push(code);
    else bytes.push(code >> 8, code & 0xff);
  }
  return Buffer.from(bytes);
}
