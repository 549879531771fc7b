/** Where the gateway looks up the secret behind an access key id. */

export interface Credential {
  secretAccessKey: string
  /** Who the key acts for, e.g. a project id; the handlers authorise on it. */
  principal: string
}

export interface CredentialStore {
  lookup (accessKeyId: string): Promise<Credential | undefined>
}

/** The bootstrap key pair and tests; the identity service will provide the real store. */
export class MemoryCredentialStore implements CredentialStore {
  readonly #keys = new Map<string, Credential>()

  constructor (entries: Iterable<readonly [accessKeyId: string, credential: Credential]> = []) {
    for (const [accessKeyId, credential] of entries) this.set(accessKeyId, credential)
  }

  set (accessKeyId: string, credential: Credential): this {
    this.#keys.set(accessKeyId, { ...credential })
    return this
  }

  async lookup (accessKeyId: string): Promise<Credential | undefined> {
    const found = this.#keys.get(accessKeyId)
    return found === undefined ? undefined : { ...found }
  }
}
