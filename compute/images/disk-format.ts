/** Bytes of an upload's start that detection needs. */
export const HEADER_BYTES = 512

interface Signature {
  format: string
  offset: number
  magic: Buffer
}

/**
 * Formats recognised by their magic, as qemu-img probes them. Only qcow2 is
 * imported; the others are named so that one uploaded as raw is refused
 * rather than served to a guest as a disk full of container metadata.
 */
const SIGNATURES: Signature[] = [
  { format: 'qcow2', offset: 0, magic: Buffer.from([0x51, 0x46, 0x49, 0xfb]) },
  { format: 'qed', offset: 0, magic: Buffer.from('QFI\0', 'latin1') },
  { format: 'vmdk', offset: 0, magic: Buffer.from('KDMV', 'latin1') },
  { format: 'vhdx', offset: 0, magic: Buffer.from('vhdxfile', 'latin1') },
  { format: 'vpc', offset: 0, magic: Buffer.from('conectix', 'latin1') },
  { format: 'vdi', offset: 0x40, magic: Buffer.from([0x7f, 0x10, 0xda, 0xbe]) }
]

/** The format an image's first bytes announce, or 'raw' when none does. */
export function detectFormat (head: Buffer): string {
  for (const { format, offset, magic } of SIGNATURES) {
    if (head.length >= offset + magic.length && head.subarray(offset, offset + magic.length).equals(magic)) return format
  }
  return 'raw'
}
