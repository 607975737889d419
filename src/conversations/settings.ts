/** The lifecycle's settings, taken from the validated Config. */
import type { Config } from '../config/config.ts';
import type { LifecycleSettings } from './lifecycle.ts';

export function lifecycleSettings(config: Config): LifecycleSettings {
  return { autoResolveAfterMs: config.autoResolveAfterMs, fcrWindowMs: config.fcrWindowMs };
}
