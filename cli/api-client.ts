import { RingstackError } from '../lib/errors.ts'

/** How the CLI finds and authenticates to a cluster (DESIGN.md, operator interface). */
export interface ApiSettings {
  url: string
  user: string
  password: string
  project: string
}

/** A refusal from the cluster, or a failure to reach it: the CLI prints the message and exits 1. */
export class ApiError extends RingstackError {
  readonly status: number

  constructor (status: number, message: string) {
    super('ApiError', message)
    this.status = status
  }
}

/** --url, then RINGSTACK_* (or the openstack CLI's OS_*) from the environment. */
export function apiSettings (env: NodeJS.ProcessEnv, url: string | undefined): ApiSettings {
  const authUrl = env.OS_AUTH_URL?.replace(/\/identity(\/v3)?\/?$/, '').replace(/\/v3\/?$/, '')
  const password = env.RINGSTACK_PASSWORD ?? env.OS_PASSWORD
  if (password === undefined) {
    throw new ApiError(0, 'no password: set RINGSTACK_PASSWORD (the admin password `ringstack up` printed) or OS_PASSWORD')
  }
  return {
    url: (url ?? env.RINGSTACK_URL ?? authUrl ?? 'http://127.0.0.1:8080').replace(/\/$/, ''),
    user: env.RINGSTACK_USER ?? env.OS_USERNAME ?? 'admin',
    password,
    project: env.RINGSTACK_PROJECT ?? env.OS_PROJECT_NAME ?? env.OS_PROJECT_ID ?? 'admin'
  }
}

/** Logs in once (Keystone password auth) and sends requests to the block-storage, image and compute APIs with the token. */
export class ApiClient {
  private readonly settings: ApiSettings
  private session: Promise<{ token: string, projectId: string }> | undefined

  constructor (settings: ApiSettings) {
    this.settings = settings
  }

  /** `path` is relative to /volume/v3/<project>. */
  async volume<T = Record<string, unknown>> (method: string, path: string, body?: unknown): Promise<T> {
    const { token, projectId } = await this.login()
    const response = await this.send(method, `/volume/v3/${projectId}${path}`, body, { 'x-auth-token': token })
    return (response.status === 202 || response.status === 204) && response.text === '' ? {} as T : JSON.parse(response.text) as T
  }

  /** `path` is relative to /image/v2; a JSON body goes as `contentType` (Glance's patches have their own). */
  async image<T = Record<string, unknown>> (method: string, path: string, body?: unknown, contentType?: string): Promise<T> {
    const { token } = await this.login()
    const response = await this.send(method, `/image/v2${path}`, body, { 'x-auth-token': token, ...(contentType === undefined ? {} : { 'content-type': contentType }) })
    return response.text === '' ? {} as T : JSON.parse(response.text) as T
  }

  /** `path` is relative to /compute/v2.1. */
  async compute<T = Record<string, unknown>> (method: string, path: string, body?: unknown): Promise<T> {
    const { token } = await this.login()
    const response = await this.send(method, `/compute/v2.1${path}`, body, { 'x-auth-token': token })
    return response.text === '' ? {} as T : JSON.parse(response.text) as T
  }

  /** Streams `data` as an image's bytes (PUT /image/v2/images/{id}/file). */
  async uploadImage (id: string, data: ReadableStream<Uint8Array>): Promise<void> {
    const { token } = await this.login()
    const response = await this.fetch('PUT', `/image/v2/images/${encodeURIComponent(id)}/file`,
      { 'x-auth-token': token, 'content-type': 'application/octet-stream' }, data)
    await this.check(response)
  }

  /** The response to GET /image/v2/images/{id}/file, its body unread. */
  async downloadImage (id: string): Promise<Response> {
    const { token } = await this.login()
    const response = await this.fetch('GET', `/image/v2/images/${encodeURIComponent(id)}/file`, { 'x-auth-token': token })
    if (!response.ok) await this.check(response)
    return response
  }

  private async login (): Promise<{ token: string, projectId: string }> {
    this.session ??= (async () => {
      const { user, password, project } = this.settings
      const response = await this.send('POST', '/identity/v3/auth/tokens', {
        auth: {
          identity: { methods: ['password'], password: { user: { name: user, domain: { id: 'default' }, password } } },
          scope: { project: { name: project, domain: { id: 'default' } } }
        }
      })
      const token = response.headers.get('x-subject-token')
      const projectId = (JSON.parse(response.text) as { token?: { project?: { id?: string } } }).token?.project?.id
      if (token === null || projectId === undefined) throw new ApiError(response.status, 'login gave no token')
      return { token, projectId }
    })()
    return await this.session
  }

  private async send (method: string, path: string, body?: unknown, headers: Record<string, string> = {}):
  Promise<{ status: number, text: string, headers: Headers }> {
    const response = await this.fetch(method, path, { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      body === undefined ? undefined : JSON.stringify(body))
    const text = await this.check(response)
    return { status: response.status, text, headers: response.headers }
  }

  private async fetch (method: string, path: string, headers: Record<string, string>, body?: string | ReadableStream<Uint8Array>): Promise<Response> {
    try {
      return await fetch(this.settings.url + path, {
        method,
        headers: { accept: 'application/json', ...headers },
        body,
        // A streamed body goes out as it is read.
        ...(typeof body === 'object' ? { duplex: 'half' } : {})
      } as RequestInit)
    } catch (err) {
      throw new ApiError(0, `cannot reach ${this.settings.url}: ${((err as Error).cause as Error | undefined)?.message ?? (err as Error).message}`)
    }
  }

  /** The body of a successful response; a refusal as an ApiError with the API's message. */
  private async check (response: Response): Promise<string> {
    const text = await response.text()
    if (!response.ok) throw new ApiError(response.status, `${response.status} ${errorMessage(text) ?? response.statusText}`)
    return text
  }
}

/** OpenStack error bodies are `{ <kind>: { message } }`, `{ error: { message } }`, or (Glance's, webob's) `{ message, code, title }`. */
function errorMessage (text: string): string | undefined {
  try {
    const body = JSON.parse(text) as Record<string, unknown>
    if (typeof body.message === 'string') return body.message
    const first = Object.values(body)[0] as { message?: unknown } | undefined
    return typeof first?.message === 'string' ? first.message : undefined
  } catch {
    return undefined
  }
}
