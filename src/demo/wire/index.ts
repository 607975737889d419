/** The wire formats the simulator speaks (`--provider`), one line per provider. */
import { metaWire } from './meta.ts';
import { twilioWire } from './twilio.ts';
import { watiWire } from './wati.ts';
import type { WireFormat } from './wire.ts';

export const WIRE_FORMATS: Record<string, WireFormat> = {
  meta: metaWire,
  twilio: twilioWire,
  wati: watiWire,
};
