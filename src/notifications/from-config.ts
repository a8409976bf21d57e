import type { Logger } from 'pino';
import type { AppConfig } from '../platform/config.js';
import { createChannelRegistry, createLogChannel, createWebhookChannel, type ChannelRegistry } from './channels.js';

/** The channels configuration asks for: the built-in log channel, plus one webhook per NOTIFICATION_WEBHOOKS entry. */
export function channelsFromConfig(c: AppConfig['notifications'], logger: Logger): ChannelRegistry {
  return createChannelRegistry([
    createLogChannel(logger),
    ...Object.entries(c.webhooks).map(([name, url]) =>
      createWebhookChannel({ name, url, ...(c.webhookToken ? { headers: { authorization: `Bearer ${c.webhookToken}` } } : {}) }),
    ),
  ]);
}
