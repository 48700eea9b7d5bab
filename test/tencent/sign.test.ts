import { describe, expect, it } from 'vitest';
import { buildQuery, sign, signedHeaders, stringToSign } from '../../src/vendors/tencent/sign.js';

// Tencent's placeholder keys (DOC 43551), nonce 88080, timestamp 1572168600: vectors computed with the
// Python SDK's algorithm (no official vector is published).
const base = { secretId: 'AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE', secretKey: 'Gu5t9xGARNpq86cd98joQYCN3EXAMPLE', nonce: '88080', timestamp: '1572168600' };

describe('Tencent Meeting request signing (worked examples)', () => {
  it('A: GET by meeting code, empty body', () => {
    const input = { ...base, method: 'GET', uri: '/v1/meetings?meeting_code=746950080&userid=tester1&instanceid=1', body: '' };
    expect(stringToSign(input)).toBe(
      'GET\nX-TC-Key=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE&X-TC-Nonce=88080&X-TC-Timestamp=1572168600\n/v1/meetings?meeting_code=746950080&userid=tester1&instanceid=1\n',
    );
    expect(sign(input)).toBe('MDY5NjYzNWU0ZDZkMWQ2ZGVlOWNhNGNjYjA5OTljM2U2ZDRkZWJiNWY1Yzk5MGQ2M2IyZTQ0NTc1MzgyMTU2ZA==');
    // The common mistake, base64 of the raw digest, gives the 44-character value the server rejects.
    expect(sign(input)).not.toBe('BpZjXk1tHW3unKTMsJmcPm1N67X1yZDWOy5EV1OCFW0=');
    expect(sign(input)).toHaveLength(88);
  });

  it('B: GET participants with a query', () => {
    expect(sign({ ...base, method: 'GET', uri: '/v1/meetings/7567173273889276131/participants?userid=tester1&pos=0&size=100', body: '' }))
      .toBe('NTdiODdjYjY3NzNjYTM4Y2RmMmMxNmE3ZTY3NjYzMzVkOGQ0NDlkMTExOGFjODQ3ZGYyNjcxOTc0ODgzZDEwMA==');
  });

  it('C: POST with a UTF-8 JSON body', () => {
    expect(sign({ ...base, method: 'POST', uri: '/v1/meetings', body: '{"userid":"tester1","instanceid":1,"subject":"测试","type":1}' }))
      .toBe('MDQxMDY3MDIzMTVjNTBjZmQ0NzdmOWQ0MjkxZDQ4NmViZGJlODg4ZGExNmNlOTczMmJmNmViNzdjN2Y1ZDY1NA==');
  });

  it('sends SdkId only when one is configured, and a fresh nonce each time', () => {
    const common = { appId: '2000', secretId: base.secretId, secretKey: base.secretKey, method: 'GET', uri: '/v1/meetings?x=1', body: '', nowMs: 1572168600_000 };
    const without = signedHeaders(common);
    expect(Object.keys(without)).not.toContain('SdkId');
    expect(without).toMatchObject({ AppId: '2000', 'X-TC-Key': base.secretId, 'X-TC-Timestamp': '1572168600' });
    expect(signedHeaders({ ...common, sdkId: '18000' }).SdkId).toBe('18000');
    expect(signedHeaders(common)['X-TC-Nonce']).not.toBe(without['X-TC-Nonce']);
    expect(without['X-TC-Nonce']).toMatch(/^[1-9]\d*$/);
    expect(without['X-TC-Signature']).toBe(sign({ ...base, method: 'GET', uri: '/v1/meetings?x=1', body: '', nonce: without['X-TC-Nonce']!, timestamp: '1572168600' }));
  });

  it('encodes query values strictly, so what is signed is what goes on the wire', () => {
    expect(buildQuery({ userid: "o'brien+ops (1)*", skip: undefined, empty: '', n: 2 })).toBe('userid=o%27brien%2Bops%20%281%29%2A&n=2');
    const q = buildQuery({ userid: '张三' });
    expect(new URL(`http://x/p?${q}`).search).toBe(`?${q}`);
  });
});
