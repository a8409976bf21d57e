import type { Logger } from 'pino';
import { createChannelRegistry, createLogChannel, createWebhookChannel, type ChannelRegistry } from './channels.js';

/**
 * The channel settings configuration parsed (AppConfig['notifications'] has this shape). Declared here rather than
 * imported from src/platform/config.ts, so that configuration may depend on this context and never the reverse.
 */
export interface ChannelSettings {
  /** channel → webhook URL (the built-in `log` channel needs none). */
  readonly webhooks: Readonly<Record<string, string>>;
  /** Sent as `Authorization: Bearer <token>` to every webhook. */
  readonly webhookToken?: string;
}

/** The channels configuration asks for: the built-in log channel, plus one webhook per NOTIFICATION_WEBHOOKS entry. */
export function channelsFromConfig(c: ChannelSettings, logger: Logger): ChannelRegistry {
  return createChannelRegistry([
    createLogChannel(logger),
    ...Object.entries(c.webhooks).map(([name, url]) =>
      createWebhookChannel({ name, url, ...(c.webhookToken ? { headers: { authorization: `Bearer ${c.webhookToken}` } } : {}) }),
    ),
  ]);
}
