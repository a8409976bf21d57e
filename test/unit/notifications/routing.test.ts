import { describe, expect, it } from 'vitest';
import {
  DEFAULT_NOTIFICATION_ROUTING,
  formatNotificationRouting,
  NotificationRoutingError,
  parseNotificationRouting,
  unregisteredChannels,
} from '../../../src/notifications/routing.js';

function problemsOf(text: string): readonly string[] {
  try {
    parseNotificationRouting(text);
  } catch (err) {
    expect(err).toBeInstanceOf(NotificationRoutingError);
    return (err as NotificationRoutingError).problems;
  }
  throw new Error(`expected ${JSON.stringify(text)} to be refused`);
}

describe('parseNotificationRouting', () => {
  it('when the setting is blank, then every recipient goes to log', () => {
    expect(parseNotificationRouting('')).toEqual({ MERCHANT: ['log'], ACCOUNT_MANAGER: ['log'], CUSTOMER: ['log'] });
    expect(parseNotificationRouting('   ')).toBe(DEFAULT_NOTIFICATION_ROUTING);
  });

  it('when every recipient is routed, then each gets its channels in the order written', () => {
    expect(parseNotificationRouting('MERCHANT=log+email,ACCOUNT_MANAGER=log,CUSTOMER=log+in-site')).toEqual({
      MERCHANT: ['log', 'email'],
      ACCOUNT_MANAGER: ['log'],
      CUSTOMER: ['log', 'in-site'],
    });
  });

  it('when only some recipients are routed, then the others keep log', () => {
    expect(parseNotificationRouting('CUSTOMER=sms')).toEqual({ MERCHANT: ['log'], ACCOUNT_MANAGER: ['log'], CUSTOMER: ['sms'] });
  });

  it('when names have spaces or another case, then recipients are upper-cased and channels lower-cased', () => {
    expect(parseNotificationRouting(' merchant = Log + EMAIL , account_manager=SMS ')).toEqual({
      MERCHANT: ['log', 'email'],
      ACCOUNT_MANAGER: ['sms'],
      CUSTOMER: ['log'],
    });
  });

  it('when a recipient is unknown, then the error names it and lists the known ones', () => {
    const problems = problemsOf('MERCHANT=log,PARTNER=email');
    expect(problems).toHaveLength(1);
    expect(problems[0]).toBe('unknown recipient "PARTNER" (known: MERCHANT, ACCOUNT_MANAGER, CUSTOMER)');
    expect(() => parseNotificationRouting('PARTNER=email')).toThrow(/invalid notification routing: unknown recipient "PARTNER"/);
  });

  it('when several entries are wrong, then every problem is listed at once', () => {
    const problems = problemsOf('MERCHANT,CUSTOMER=,ACCOUNT_MANAGER=log+log,CUSTOMER=sms,MERCHANT=e mail,,X=y');
    expect(problems).toEqual([
      '"MERCHANT": expected RECIPIENT=channel[+channel...]',
      'CUSTOMER: empty channel name',
      'ACCOUNT_MANAGER: channel "log" listed twice',
      'CUSTOMER is routed twice',
      expect.stringMatching(/^MERCHANT: invalid channel name "e mail"/),
      'empty entry (two commas in a row, or a trailing comma)',
      expect.stringMatching(/^unknown recipient "X"/),
    ]);
  });

  it('when the routing is parsed, then it is frozen and formats back to the same setting', () => {
    const routing = parseNotificationRouting('MERCHANT=log+email,CUSTOMER=in-site');
    expect(Object.isFrozen(routing)).toBe(true);
    expect(Object.isFrozen(routing.MERCHANT)).toBe(true);
    const text = formatNotificationRouting(routing);
    expect(text).toBe('MERCHANT=log+email,ACCOUNT_MANAGER=log,CUSTOMER=in-site');
    expect(parseNotificationRouting(text)).toEqual(routing);
  });
});

describe('unregisteredChannels', () => {
  it('when routing names channels nobody registered, then they are listed once, sorted', () => {
    const routing = parseNotificationRouting('MERCHANT=log+email,ACCOUNT_MANAGER=sms+email,CUSTOMER=log');
    expect(unregisteredChannels(routing, ['log'])).toEqual(['email', 'sms']);
    expect(unregisteredChannels(routing, ['log', 'sms', 'email'])).toEqual([]);
  });
});
