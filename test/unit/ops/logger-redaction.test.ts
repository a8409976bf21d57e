import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/platform/logger.js';

// The process logger's last line of defence: if code ever logs a request's headers or a configuration object
// whole, the secrets in them are replaced by *** (top level and one level down).

function capture() {
  const lines: string[] = [];
  const logger = createLogger({ level: 'info', name: 'redaction-test', destination: { write: (l: string) => void lines.push(l) } });
  return { logger, lines };
}

describe('createLogger redaction', () => {
  it('when an ops request\'s headers, a config object or a token are logged, then the secrets are ***', () => {
    const { logger, lines } = capture();
    logger.info({ headers: { authorization: 'Bearer ops-secret-1' }, authorization: 'Bearer ops-secret-2', token: 'ops-secret-3' }, 'request');
    logger.info({ config: { opsApiToken: 'ops-secret-4', dataEncryptionKey: 'dek-secret-5', huaweiSk: 'sk-secret-6', accessKey: 'ak-secret-7' } }, 'config');
    const log = lines.join('');
    for (const secret of ['ops-secret-1', 'ops-secret-2', 'ops-secret-3', 'ops-secret-4', 'dek-secret-5', 'sk-secret-6', 'ak-secret-7']) expect(log).not.toContain(secret);
    expect(JSON.parse(lines[1]!).config).toEqual({ opsApiToken: '***', dataEncryptionKey: '***', huaweiSk: '***', accessKey: '***' });
  });

  it('when a command with the buyer\'s contacts or a Query Order answer is logged whole, then the contacts are ***', () => {
    const { logger, lines } = capture();
    logger.info({ command: { kind: 'purchase', contacts: { mobilePhone: '+8613800001234', email: 'buyer@example.com' } } }, 'command');
    logger.info({ order: { buyerInfo: { customerId: 'c1', mobilePhone: '+8613800005678' } }, mobilePhone: '+8613800009999', email: 'x@example.com' }, 'order');
    const log = lines.join('');
    for (const contact of ['13800001234', 'buyer@example.com', '13800005678', '13800009999', 'x@example.com']) expect(log).not.toContain(contact);
    expect(JSON.parse(lines[0]!).command).toEqual({ kind: 'purchase', contacts: '***' });
  });

  it('when ids of an order are logged, then they stay readable', () => {
    const { logger, lines } = capture();
    logger.warn({ orderId: 'CS1', instanceId: 'i-1', workflowId: 'order-CS1' }, 'reconciliation drift found');
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 'warn', orderId: 'CS1', instanceId: 'i-1', workflowId: 'order-CS1', service: 'redaction-test' });
  });
});
