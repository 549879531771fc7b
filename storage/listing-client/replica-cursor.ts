import type { ListItem, ListReply } from '../listing-types.ts'
import type { PlacementDevice } from '../object-client/index.ts'

/**
 * Walks one replica's listing page by page. A common prefix that a page
 * boundary cut before its witness is joined with its continuation on the
 * next page, so the merge only ever sees whole prefixes.
 */
export class ReplicaCursor {
  readonly device: PlacementDevice
  private readonly fetch: (marker: string) => Promise<ListReply>
  private items: ListItem[] = []
  private at = 0
  /** Where the next page starts; undefined once the replica said there is no more. */
  private next: string | undefined

  constructor (device: PlacementDevice, fetch: (marker: string) => Promise<ListReply>, first: ListReply) {
    this.device = device
    this.fetch = fetch
    this.take(first)
  }

  /** The next item, undefined at the end. Fetches (and may throw) when the page is used up. */
  async peek (): Promise<ListItem | undefined> {
    for (;;) {
      const head = this.items[this.at]
      if (head === undefined) {
        if (this.next === undefined) return undefined
        await this.load(this.next)
        continue
      }
      if (head.kind === 'entry' || head.prefix.complete) return head
      // A cut prefix is always its page's last item: its continuation starts the next page.
      if (this.next === undefined || this.at + 1 < this.items.length) {
        head.prefix.complete = true
        continue
      }
      await this.load(this.next)
      const following = this.items[this.at + 1]
      if (following?.kind === 'prefix' && following.prefix.prefix === head.prefix.prefix) {
        head.prefix.shadowed.push(...following.prefix.shadowed)
        head.prefix.witness = following.prefix.witness
        head.prefix.complete = following.prefix.complete
        this.items.splice(this.at + 1, 1)
      } else {
        head.prefix.complete = true
      }
    }
  }

  shift (): void {
    this.at++
  }

  private async load (marker: string): Promise<void> {
    this.take(await this.fetch(marker))
  }

  private take (reply: ListReply): void {
    this.items = [...this.items.slice(this.at), ...reply.items]
    this.at = 0
    this.next = reply.truncated ? reply.nextMarker : undefined
  }
}
