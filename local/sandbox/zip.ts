import { crc32, deflateRawSync } from 'node:zlib';

/**
 * A minimal ZIP writer (deflated entries, no ZIP64) for the Alipay simulator's bill: Alipay's
 * entry names are GBK bytes without the UTF-8 flag, which fflate's zipSync cannot write (it
 * writes names as UTF-8). Layout per PKWARE's APPNOTE: a local header and data per entry, then
 * the central directory and its end record.
 */

export interface ZipEntry {
  /** The name's bytes exactly as stored (general-purpose flag bit 11 stays clear: not UTF-8). */
  name: Buffer;
  data: Buffer;
}

const BEIJING_OFFSET_MS = 8 * 3_600_000;

/** MS-DOS date and time fields, in Beijing time (the time Alipay's servers write). */
function dosDateTime(instant: Date): { time: number; date: number } {
  const local = new Date(instant.getTime() + BEIJING_OFFSET_MS);
  return {
    time: (local.getUTCHours() << 11) | (local.getUTCMinutes() << 5) | (local.getUTCSeconds() >> 1),
    date: ((local.getUTCFullYear() - 1980) << 9) | ((local.getUTCMonth() + 1) << 5) | local.getUTCDate(),
  };
}

/** The fields local and central headers share, from "version needed" to the name's length. */
function commonFields(entry: ZipEntry, compressed: Buffer, stamp: { time: number; date: number }): Buffer {
  const fields = Buffer.alloc(26);
  fields.writeUInt16LE(20, 0); // version needed: 2.0 (deflate)
  fields.writeUInt16LE(0, 2); // flags
  fields.writeUInt16LE(8, 4); // method: deflate
  fields.writeUInt16LE(stamp.time, 6);
  fields.writeUInt16LE(stamp.date, 8);
  fields.writeUInt32LE(crc32(entry.data), 10);
  fields.writeUInt32LE(compressed.length, 14);
  fields.writeUInt32LE(entry.data.length, 18);
  fields.writeUInt16LE(entry.name.length, 22);
  fields.writeUInt16LE(0, 24); // extra field length
  return fields;
}

export function writeZip(entries: readonly ZipEntry[], modifiedAt: Date): Buffer {
  const stamp = dosDateTime(modifiedAt);
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const entry of entries) {
    const compressed = deflateRawSync(entry.data);
    const common = commonFields(entry, compressed, stamp);
    const local = Buffer.concat([u32(0x04034b50), common, entry.name, compressed]);
    // Central header: signature, version made by, the common fields, comment length, disk, internal and external attributes, local offset.
    const tail = Buffer.alloc(14);
    tail.writeUInt32LE(offset, 10);
    centrals.push(Buffer.concat([u32(0x02014b50), u16(20), common, tail, entry.name]));
    locals.push(local);
    offset += local.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

function u32(value: number): Buffer {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32LE(value);
  return bytes;
}

function u16(value: number): Buffer {
  const bytes = Buffer.alloc(2);
  bytes.writeUInt16LE(value);
  return bytes;
}
