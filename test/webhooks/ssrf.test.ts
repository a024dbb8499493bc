import { classify, endpointRefusal, refusalOf } from '../../lambdas/core/adapters/ssrf';

const closed = { allowLoopback: false };
const loopbackOk = { allowLoopback: true };

describe('refused address ranges', () => {
  it.each([
    ['0.0.0.0', 'this-network'],
    ['0.1.2.3', 'this-network'],
    ['10.0.0.1', 'private'],
    ['10.255.255.255', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.254', 'private'],
    ['192.168.1.1', 'private'],
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['169.254.169.254', 'link-local'],
    ['169.254.0.1', 'link-local'],
    ['100.64.0.1', 'shared-cgnat'],
    ['100.127.255.255', 'shared-cgnat'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['255.255.255.255', 'reserved'],
    ['240.0.0.1', 'reserved'],
    ['192.0.0.8', 'reserved'],
    ['192.0.2.10', 'documentation'],
    ['198.51.100.7', 'documentation'],
    ['203.0.113.99', 'documentation'],
    ['198.18.0.1', 'benchmarking'],
    ['198.19.255.1', 'benchmarking'],
    ['::1', 'loopback'],
    ['::', 'this-network'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['febf::1', 'link-local'],
    ['fc00::1', 'unique-local'],
    ['fd12:3456::1', 'unique-local'],
    ['ff02::1', 'multicast'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:10.1.2.3', 'private'],
    ['::ffff:169.254.169.254', 'link-local'],
    ['::ffff:a9fe:a9fe', 'link-local'],
    ['64:ff9b::a00:1', 'nat64'],
    ['64:ff9b::8.8.8.8', 'nat64'],
    ['2002:0a00:0001::1', 'private'],
    ['2002:c0a8:0101::', 'private'],
    ['2002:7f00:1::', 'loopback'],
    ['2001:db8::1', 'documentation'],
    ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'teredo'],
    ['::a00:1', 'not-global-unicast'],
    ['100::1', 'not-global-unicast'],
  ])('%s is refused as %s', (address, category) => {
    expect(classify(address)).toBe(category);
    expect(refusalOf(address, closed)).toBe(category);
  });

  it.each(['8.8.8.8', '1.1.1.1', '93.184.216.34', '172.15.255.255', '172.32.0.1', '100.63.255.255', '100.128.0.1', '198.17.255.255', '223.255.255.255',
    '2606:4700:4700::1111', '2a00:1450:4001:80b::200e', '::ffff:8.8.8.8', '2002:0808:0808::1'])('%s is public', (address) => {
    expect(classify(address)).toBeUndefined();
    expect(refusalOf(address, closed)).toBeUndefined();
  });

  it('lets loopback alone through when loopback webhooks are allowed', () => {
    for (const a of ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1']) expect(refusalOf(a, loopbackOk)).toBeUndefined();
    for (const a of ['10.0.0.1', '169.254.169.254', '192.168.0.1', '::', 'fe80::1', 'fc00::1', '0.0.0.0']) expect(refusalOf(a, loopbackOk)).toBeDefined();
  });
});

describe('endpoint URLs at registration', () => {
  const aws = { allowLoopback: false, allowHttp: false };
  const local = { allowLoopback: true, allowHttp: true };

  it('accepts a public https URL, and any host name (checked at connect time)', () => {
    expect(endpointRefusal('https://hooks.example.com/sesame?x=1', aws)).toBeUndefined();
    expect(endpointRefusal('https://localhost/hook', aws)).toBeUndefined();
    expect(endpointRefusal('https://8.8.8.8/hook', aws)).toBeUndefined();
  });

  it('refuses other schemes, plain http outside local mode, credentials and non-URLs', () => {
    expect(endpointRefusal('ftp://example.com/x', aws)).toMatch(/http\(s\)/);
    expect(endpointRefusal('file:///etc/passwd', local)).toMatch(/http\(s\)/);
    expect(endpointRefusal('http://example.com/x', aws)).toMatch(/https/);
    expect(endpointRefusal('http://example.com/x', local)).toBeUndefined();
    expect(endpointRefusal('https://user:pw@example.com/x', aws)).toMatch(/credentials/);
    expect(endpointRefusal('https://user@example.com/x', aws)).toMatch(/credentials/);
    expect(endpointRefusal('not a url', aws)).toMatch(/absolute URL/);
  });

  it.each(['https://10.0.0.1/', 'https://169.254.169.254/latest/meta-data', 'https://[::1]/', 'https://[fd00::1]/', 'https://[::ffff:192.168.0.1]/',
    'https://127.0.0.1:8443/', 'https://2130706433/', 'https://0x7f.1/', 'https://0/'])('refuses the literal address in %s', (url) => {
    expect(endpointRefusal(url, aws)).toMatch(/address/);
  });

  it('allows a loopback literal only where loopback webhooks are allowed', () => {
    expect(endpointRefusal('http://127.0.0.1:3001/hook', local)).toBeUndefined();
    expect(endpointRefusal('http://[::1]:3001/hook', local)).toBeUndefined();
    expect(endpointRefusal('http://10.0.0.1/hook', local)).toMatch(/private/);
  });
});
