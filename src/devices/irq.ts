/** An interrupt line a device drives. Level semantics: set(true) asserts, set(false) deasserts. */
export interface IrqLine {
  set(level: boolean): void;
}

/** Edge helper for devices that only pulse. */
export function pulse(line: IrqLine): void {
  line.set(true);
  line.set(false);
}

/** A line that records every level change (tests). */
export class RecordingIrqLine implements IrqLine {
  readonly log: boolean[] = [];
  level = false;
  set(level: boolean): void {
    this.log.push(level);
    this.level = level;
  }
}

/** Receives an interrupt message (vector, destination, delivery mode) from an IOAPIC or MSI. */
export interface InterruptMessage {
  vector: number;
  /** 0 fixed, 1 lowest priority, 2 SMI, 4 NMI, 5 INIT, 7 ExtINT */
  deliveryMode: number;
  /** Physical APIC ID or logical mask. */
  destination: number;
  logicalDestination: boolean;
  level: boolean;
  triggerLevel: boolean;
}

export interface InterruptSink {
  deliver(msg: InterruptMessage): void;
}
