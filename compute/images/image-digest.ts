import { createHash, type Hash } from 'node:crypto'

/** Glance's checksums of an image's data, computed as it streams by: md5 (`checksum`) and the sha512 multihash. */
export class ImageDigest {
  private readonly md5: Hash = createHash('md5')
  private readonly sha512: Hash = createHash('sha512')

  update (data: Buffer): void {
    this.md5.update(data)
    this.sha512.update(data)
  }

  digest (): { checksum: string, os_hash_algo: 'sha512', os_hash_value: string } {
    return { checksum: this.md5.digest('hex'), os_hash_algo: 'sha512', os_hash_value: this.sha512.digest('hex') }
  }
}
