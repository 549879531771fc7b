import { readFile } from 'node:fs/promises'
import type { Socket } from 'node:net'
import { createSecureContext, TLSSocket, type SecureContext, type TlsOptions, type TLSSocketOptions } from 'node:tls'

/**
 * TLS 1.3 suites first: GnuTLS clients (qemu, libnbd) negotiate TLS 1.3,
 * where OpenSSL treats the PSK callback's key as an external PSK with
 * SHA-256, which is what GnuTLS uses for PSK files. For TLS 1.2 clients,
 * the suites keyed by the PSK alone or with (EC)DHE (DHE gets OpenSSL's
 * automatic parameters); never RSA-PSK, as there is no certificate.
 */
const CIPHERS = 'TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:ECDHEPSK:DHEPSK:PSK:!RSAPSK:!aNULL:!eNULL:!SHA1:!CBC'

const HANDSHAKE_TIMEOUT_MS = 10_000

/** Parses a psktool keys file: one `identity:hexkey` a line. */
export function parsePskFile (text: string, path: string): Map<string, Buffer> {
  const keys = new Map<string, Buffer>()
  for (const [index, raw] of text.split('\n').entries()) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) continue
    const colon = line.lastIndexOf(':')
    const hex = line.slice(colon + 1)
    if (colon <= 0 || hex.length === 0 || hex.length % 2 !== 0 || !/^[0-9a-fA-F]+$/.test(hex)) {
      throw new Error(`${path}:${index + 1}: expected identity:hexkey`)
    }
    keys.set(line.slice(0, colon), Buffer.from(hex, 'hex'))
  }
  if (keys.size === 0) throw new Error(`${path}: no keys`)
  return keys
}

export interface TlsSession {
  socket: TLSSocket
  identity: string
  /** e.g. TLSv1.3, for the log. */
  protocol: string
  cipher: string
}

/** Server side of NBD_OPT_STARTTLS with pre-shared keys (qemu's tls-creds-psk, libnbd's tls-psk-file). */
export class PskTls {
  private readonly keys: Map<string, Buffer>
  private readonly context: SecureContext

  private constructor (keys: Map<string, Buffer>) {
    this.keys = keys
    this.context = createSecureContext({ ciphers: CIPHERS, minVersion: 'TLSv1.2', dhparam: 'auto' })
  }

  static async load (pskFile: string): Promise<PskTls> {
    return new PskTls(parsePskFile(await readFile(pskFile, 'utf8'), pskFile))
  }

  /** Runs the TLS handshake over `socket` (which must hold no unread data of ours) and resolves once it is secure. */
  async upgrade (socket: Socket): Promise<TlsSession> {
    let identity = ''
    // TLSSocket honours the server's pskCallback too; @types/node only declares it on TlsOptions.
    const options: TLSSocketOptions & Pick<TlsOptions, 'pskCallback'> = {
      isServer: true,
      secureContext: this.context,
      pskCallback: (_socket, id) => {
        const key = this.keys.get(id)
        if (key !== undefined) identity = id
        return key ?? null
      }
    }
    const tls = new TLSSocket(socket, options)
    return await new Promise<TlsSession>((resolve, reject) => {
      const timer = setTimeout(() => { fail(new Error('TLS handshake timed out')) }, HANDSHAKE_TIMEOUT_MS)
      const fail = (err: Error): void => {
        clearTimeout(timer)
        tls.destroy()
        reject(err)
      }
      tls.once('secure', () => {
        clearTimeout(timer)
        tls.off('error', fail)
        tls.off('close', closed)
        resolve({ socket: tls, identity, protocol: tls.getProtocol() ?? '', cipher: tls.getCipher().name })
      })
      const closed = (): void => { fail(new Error('connection closed during the TLS handshake')) }
      tls.once('error', fail)
      tls.once('close', closed)
    })
  }
}
