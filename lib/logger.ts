// The one logger. JSON lines when stdout is not a terminal (or MCCS_LOG_FORMAT=json), readable text on
// a terminal. Request-scoped children carry `reqId`, so every line of a request can be found together.
import winston from 'winston';
import type { Config } from './config.js';

export type Logger = winston.Logger;

/**
 * Keys whose values must never reach a log line, whatever object they sit in. `turnSecret` is coturn's
 * shared secret; `credential` is a TURN password handed to a client (an RTCIceServer field).
 */
const SECRET_KEYS = /^(password|newPassword|token|accessToken|authorization|cookie|secret|tokenSecret|turnSecret|credential)$/i;

const redact = winston.format((info) => {
  const scrub = (value: unknown, depth: number): unknown => {
    if (!value || typeof value !== 'object' || depth > 4) return value;
    // An Error's message and stack are not own enumerable properties: copy them, or they log as {}.
    if (value instanceof Error) {
      const { code } = value as { code?: unknown };
      return { name: value.name, message: value.message, ...(code !== undefined ? { code } : {}), stack: value.stack };
    }
    if (Array.isArray(value)) return value.map((v) => scrub(v, depth + 1));
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEYS.test(k) ? '[redacted]' : scrub(v, depth + 1);
    return out;
  };
  for (const key of Object.keys(info)) {
    if (SECRET_KEYS.test(key)) info[key] = '[redacted]';
    else info[key] = scrub(info[key], 0);
  }
  return info;
});

export function createLogger(config: Pick<Config, 'log'>, stream: NodeJS.WritableStream = process.stdout): Logger {
  const json = config.log.format === 'json' || (config.log.format === 'auto' && !(stream as { isTTY?: boolean }).isTTY);
  return winston.createLogger({
    level: config.log.level,
    format: winston.format.combine(
      redact(),
      winston.format.timestamp(),
      winston.format.errors({ stack: true }),
      json
        ? winston.format.json()
        : winston.format.printf(({ timestamp, level, message, component, reqId, ...rest }) => {
            const extra = Object.keys(rest).length ? ' ' + JSON.stringify(rest) : '';
            const tags = [component, reqId].filter(Boolean).join(' ');
            return `${String(timestamp)} ${level} ${tags ? `[${String(tags)}] ` : ''}${String(message)}${extra}`;
          }),
    ),
    transports: [new winston.transports.Stream({ stream })],
  });
}
