/** The wire formats the simulator speaks (`--provider`), one line per provider. */
import { metaWire } from './meta.ts';
import type { WireFormat } from './wire.ts';

export const WIRE_FORMATS: Record<string, WireFormat> = {
  meta: metaWire,
};
