/** A service with an explicit lifecycle; nothing runs before start(). */
export interface Startable {
  start(): Promise<void>
  /** Stops accepting work, drains what is in flight, releases resources. */
  stop(): Promise<void>
}
