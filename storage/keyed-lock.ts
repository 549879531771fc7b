/**
 * One-at-a-time sections per key (an object name): concurrent writes of one
 * name commit in arrival order, writes of different names never wait.
 */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<void>>()

  async run<T> (key: string, section: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key)
    let release!: () => void
    const mine = new Promise<void>((resolve) => { release = resolve })
    const tail = previous === undefined ? mine : previous.then(async () => await mine)
    this.tails.set(key, tail)
    try {
      await previous
      return await section()
    } finally {
      release()
      if (this.tails.get(key) === tail) this.tails.delete(key)
    }
  }
}
