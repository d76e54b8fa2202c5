import { ConsoleLogger, type LogLevel } from '@nestjs/common';
import type { AppConfigValues } from '../config/config.schema';

const LEVELS: Record<AppConfigValues['LOG_LEVEL'], LogLevel[]> = {
  error: ['fatal', 'error'],
  warn: ['fatal', 'error', 'warn'],
  info: ['fatal', 'error', 'warn', 'log'],
  debug: ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'],
};

export function createLogger(level: AppConfigValues['LOG_LEVEL']): ConsoleLogger {
  return new ConsoleLogger({ logLevels: LEVELS[level] });
}
