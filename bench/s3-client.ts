import { Agent, request } from 'node:http'
import { Sha256 } from '@aws-crypto/sha256-js'
import { SignatureV4 } from '@smithy/signature-v4'

export interface S3Endpoint {
  url: URL
  accessKeyId: string
  secretAccessKey: string
  region?: string
}

/**
 * The load generator's S3 client: node:http with keep-alive, requests signed
 * by the SDK's own signer with UNSIGNED-PAYLOAD (as shared/notes/object's
 * load generator does), bodies streamed and discarded. The same client
 * drives every system a bench compares.
 */
export class BenchS3Client {
  private readonly endpoint: S3Endpoint
  private readonly agent: Agent
  private readonly signer: SignatureV4

  constructor (endpoint: S3Endpoint, concurrency: number) {
    this.endpoint = endpoint
    this.agent = new Agent({ keepAlive: true, maxSockets: concurrency + 2 })
    this.signer = new SignatureV4({
      credentials: { accessKeyId: endpoint.accessKeyId, secretAccessKey: endpoint.secretAccessKey },
      region: endpoint.region ?? 'us-east-1',
      service: 's3',
      sha256: Sha256,
      uriEscapePath: false,
      applyChecksum: false
    })
  }

  /** Sends one request; resolves with the status and how many body bytes came back. */
  async send (method: string, path: string, body?: Buffer | AsyncIterable<Buffer>, length?: number): Promise<{ status: number, bytes: number }> {
    const { hostname, port } = this.endpoint.url
    const headers: Record<string, string> = { host: `${hostname}:${port}`, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' }
    if (length !== undefined) headers['content-length'] = String(length)
    const signed = await this.signer.sign({ method, protocol: 'http:', hostname, port: Number(port), path, query: {}, headers })
    return await new Promise((resolve, reject) => {
      const req = request({ host: hostname, port, method, path, headers: signed.headers, agent: this.agent }, (res) => {
        let bytes = 0
        res.on('data', (chunk: Buffer) => { bytes += chunk.length })
        res.on('end', () => {
          if ((res.statusCode ?? 0) >= 300) reject(new Error(`${method} ${path}: HTTP ${res.statusCode}`))
          else resolve({ status: res.statusCode ?? 0, bytes })
        })
        res.on('error', reject)
      })
      req.on('error', reject)
      if (body === undefined) req.end()
      else if (Buffer.isBuffer(body)) req.end(body)
      else {
        (async () => {
          for await (const chunk of body) {
            if (!req.write(chunk)) await new Promise((resolve) => req.once('drain', resolve))
          }
          req.end()
        })().catch((err: unknown) => req.destroy(err as Error))
      }
    })
  }

  close (): void {
    this.agent.destroy()
  }
}
