import { describe, expect, it } from 'vitest';
import {
  addressRefusal,
  ipLiteralOf,
  parseWebhookUrl,
  STRICT_NETWORK_POLICY,
} from '../../../src/domain/webhook-address';
import { WebhookUrlRefusedError } from '../../../src/domain/webhook-errors';

const LOCAL = { allowHttp: true, allowLoopback: true };
const refusedUrl = (url: string, policy = STRICT_NETWORK_POLICY) => {
  try {
    parseWebhookUrl(url, policy);
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(WebhookUrlRefusedError);
    return (error as WebhookUrlRefusedError).reason;
  }
};

describe('addressRefusal: only global unicast may be connected to (src/domain/webhook-address.ts)', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'linkLocal'],
    ['100.100.100.200', 'carrierGradeNat'],
    ['100.64.0.1', 'carrierGradeNat'],
    ['224.0.0.1', 'multicast'],
    ['0.0.0.0', 'unspecified'],
    ['255.255.255.255', 'broadcast'],
    ['198.18.0.1', 'reserved'],
    ['::1', 'loopback'],
    ['::', 'unspecified'],
    ['fe80::1', 'linkLocal'],
    ['fc00::1', 'uniqueLocal'],
    ['fd00:ec2::254', 'uniqueLocal'],
    ['ff02::1', 'multicast'],
    ['2001:db8::1', 'reserved'],
  ])('refuses %s (%s)', (address, range) => {
    expect(addressRefusal(address, STRICT_NETWORK_POLICY)).toMatch(new RegExp(`is an? ${range} address$`));
  });

  it.each([
    ['::ffff:127.0.0.1', '127.0.0.1 is a loopback address'],
    ['::ffff:7f00:1', '127.0.0.1 is a loopback address'],
    ['::ffff:a9fe:a9fe', '169.254.169.254 is a linkLocal address'],
    ['::ffff:10.0.0.1', '10.0.0.1 is a private address'],
    ['0:0:0:0:0:ffff:c0a8:0101', '192.168.1.1 is a private address'],
  ])('judges the IPv4-mapped %s as the IPv4 address inside it', (address, reason) => {
    expect(addressRefusal(address, STRICT_NETWORK_POLICY)).toBe(reason);
  });

  it.each([
    ['64:ff9b::a00:1', 'rfc6052'],
    ['2002:a00:1::', '6to4'],
    ['2001::1', 'teredo'],
  ])('refuses the IPv6 forms that carry an IPv4 address elsewhere: %s (%s)', (address, range) => {
    expect(addressRefusal(address, STRICT_NETWORK_POLICY)).toContain(range);
  });

  it('lets public addresses through, IPv4 and IPv6', () => {
    for (const address of ['8.8.8.8', '203.0.114.1', '1.1.1.1', '2606:4700::1111', '2a00:1450:4001::200e'])
      expect(addressRefusal(address, STRICT_NETWORK_POLICY), address).toBeUndefined();
  });

  it('lets the loopback range through only where the policy allows it (the local runtime), and nothing else private', () => {
    expect(addressRefusal('127.0.0.1', LOCAL)).toBeUndefined();
    expect(addressRefusal('::1', LOCAL)).toBeUndefined();
    expect(addressRefusal('::ffff:127.0.0.1', LOCAL)).toBeUndefined();
    expect(addressRefusal('10.0.0.1', LOCAL)).toContain('private');
    expect(addressRefusal('169.254.169.254', LOCAL)).toContain('linkLocal');
  });

  it('refuses what is not an address at all', () => {
    expect(addressRefusal('localhost', STRICT_NETWORK_POLICY)).toBe('localhost is not an IP address');
  });
});

describe('parseWebhookUrl', () => {
  it('accepts an https URL on a host name, as it was given', () => {
    expect(parseWebhookUrl('https://shop.example/hooks/payments?v=1', STRICT_NETWORK_POLICY).href).toBe(
      'https://shop.example/hooks/payments?v=1',
    );
    expect(parseWebhookUrl('https://93.184.215.14:8443/hooks', STRICT_NETWORK_POLICY).host).toBe('93.184.215.14:8443');
  });

  it.each([
    'https://2130706433/',
    'https://0x7f000001/',
    'https://0x7f.0.0.1/',
    'https://0177.0.0.01/',
    'https://127.1/',
    'https://017700000001/',
    'https://[::ffff:127.0.0.1]/',
    'https://[::ffff:7f00:1]/',
    'https://[0:0:0:0:0:ffff:a9fe:a9fe]/latest/meta-data',
    'https://169.254.169.254/latest/meta-data',
    'https://0xa9fea9fe/',
    'https://[::1]:8443/',
    'https://0/',
    'https://[fd00:ec2::254]/',
  ])('refuses %s, whatever the spelling of the forbidden address', (url) => {
    expect(refusedUrl(url)).toMatch(/^points at a forbidden address: /);
  });

  it('refuses plain http in AWS, allows it where the policy does', () => {
    expect(refusedUrl('http://shop.example/hooks')).toBe('must use https:');
    expect(refusedUrl('http://127.0.0.1:4000/hooks', LOCAL)).toBeUndefined();
    expect(refusedUrl('http://10.0.0.5/hooks', LOCAL)).toMatch(/private address/);
  });

  it('refuses credentials, fragments, other schemes, relative and overlong URLs', () => {
    expect(refusedUrl('https://user:pass@shop.example/hooks')).toMatch(/must not hold credentials/);
    expect(refusedUrl('https://shop.example/hooks#x')).toBe('must not have a fragment');
    expect(refusedUrl('ftp://shop.example/')).toBe('must use https:');
    expect(refusedUrl('file:///etc/passwd')).toBe('must use https:');
    expect(refusedUrl('/hooks')).toBe('is not an absolute URL');
    expect(refusedUrl(`https://shop.example/${'a'.repeat(2048)}`)).toMatch(/longer than 2048/);
  });
});

describe('ipLiteralOf', () => {
  it('names the address a URL host spells, and nothing for a host name', () => {
    expect(ipLiteralOf(new URL('https://2130706433/').hostname)).toBe('127.0.0.1');
    expect(ipLiteralOf(new URL('https://[::1]/').hostname)).toBe('::1');
    expect(ipLiteralOf('shop.example')).toBeUndefined();
    expect(ipLiteralOf('1.2.3.4.nip.io')).toBeUndefined();
  });
});
