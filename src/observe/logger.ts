import { pino, type Logger as PinoLogger } from 'pino';

/**
 * Paths pino removes from every log line. Credentials never reach a log: we never log them,
 * and these paths catch a mistake (a Secret's data, a connection object, an error's request).
 */
export const REDACT_PATHS = [
  'secretKey',
  '*.secretKey',
  'accessKey',
  '*.accessKey',
  'sessionToken',
  '*.sessionToken',
  'password',
  '*.password',
  'clientSecret',
  '*.clientSecret',
  'data',
  '*.data',
  'stringData',
  '*.stringData',
  'authorization',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
  'credentials',
  '*.credentials',
];

export type Level = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';

/** The operator's JSON logger on stdout. */
export function newLogger(level: Level = 'info', destination?: NodeJS.WritableStream): PinoLogger {
  return pino(
    {
      level,
      base: { component: 'sitesync-operator' },
      redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination ?? process.stdout,
  );
}
