import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { ControlError, type ControlStore } from '../../lib/control-store/index.ts'

/** Who a request acts as, and for which project. */
export interface Principal {
  userId: string
  userName: string
  projectId: string
  projectName: string
  roles: string[]
}

export interface IssuedToken {
  token: string
  principal: Principal
  issuedAt: Date
  expiresAt: Date
}

const SECRET_KEY = 'identity/token-secret'

interface TokenBody extends Principal {
  iat: number
  exp: number
}

/**
 * Bearer tokens (Keystone's X-Auth-Token) that need no lookup: the claims,
 * base64url JSON, then an HMAC-SHA256 over them with a secret every gateway
 * of the cluster reads from the control store, so any gateway verifies a
 * token another issued.
 */
export class TokenService {
  private readonly control: ControlStore
  private readonly ttlMs: number
  private readonly now: () => number
  private secret: Buffer | undefined

  constructor (components: { control: ControlStore }, options: { ttlMs?: number, now?: () => number } = {}) {
    this.control = components.control
    this.ttlMs = options.ttlMs ?? 12 * 3600_000
    this.now = options.now ?? Date.now
  }

  /** Loads the cluster's signing secret, creating it on the first start of the first gateway. */
  async start (): Promise<void> {
    const fresh = randomBytes(32).toString('base64url')
    try {
      await this.control.commit([{ key: SECRET_KEY, modRevision: 0 }], [{ type: 'put', key: SECRET_KEY, value: fresh }])
    } catch (err) {
      if (!(err instanceof ControlError && err.code === 'Conflict')) throw err
    }
    const stored = await this.control.get<string>(SECRET_KEY)
    this.secret = Buffer.from(stored!.value, 'base64url')
  }

  async stop (): Promise<void> {
    this.secret = undefined
  }

  issue (principal: Principal): IssuedToken {
    const iat = this.now()
    const body: TokenBody = { ...principal, iat, exp: iat + this.ttlMs }
    const claims = Buffer.from(JSON.stringify(body)).toString('base64url')
    return { token: `${claims}.${this.sign(claims)}`, principal, issuedAt: new Date(iat), expiresAt: new Date(body.exp) }
  }

  /** The token's principal, or undefined when it is forged, mangled or expired. */
  verify (token: string): IssuedToken | undefined {
    const dot = token.indexOf('.')
    if (dot <= 0) return undefined
    const claims = token.slice(0, dot)
    const signature = Buffer.from(token.slice(dot + 1), 'base64url')
    const expected = Buffer.from(this.sign(claims), 'base64url')
    if (signature.length !== expected.length || !timingSafeEqual(signature, expected)) return undefined
    let body: TokenBody
    try {
      body = JSON.parse(Buffer.from(claims, 'base64url').toString('utf8')) as TokenBody
    } catch {
      return undefined
    }
    if (!(body.exp > this.now())) return undefined
    const { iat, exp, ...principal } = body
    return { token, principal, issuedAt: new Date(iat), expiresAt: new Date(exp) }
  }

  private sign (claims: string): string {
    if (this.secret === undefined) throw new Error('token service is not started')
    return createHmac('sha256', this.secret).update(claims).digest('base64url')
  }
}
