import { createHash, type Hash } from 'node:crypto'
import { S3Error } from '../errors.ts'
import { chunkStringToSign, EMPTY_SHA256, sha256Hex, signaturesMatch, signHex, trailerStringToSign } from './sigv4.ts'

/**
 * Incremental decoder of an `aws-chunked` body:
 *
 *     <hex-size>[;chunk-signature=<sig>]\r\n<data>\r\n ... 0[;chunk-signature=<sig>]\r\n
 *     [<trailer-name>:<value>\r\n ... [x-amz-trailer-signature:<sig>\r\n]]\r\n
 *
 * Network reads split this anywhere, so state carries over between `push`
 * calls. Data comes back as views of the input buffers (no copy). Every chunk
 * signature is checked as its chunk ends, the final empty chunk's and the
 * trailer's included; `finish` at end of input reports truncation and the
 * trailer problems, so a consumer that commits only after the whole body was
 * read never commits a body that fails any check.
 */

export interface ChunkSigning {
  signingKey: Buffer
  /** The signed request timestamp and credential scope. */
  date: string
  scope: string
  seedSignature: string
}

export interface AwsChunkedOptions {
  /** Present when chunks carry signatures (STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]). */
  signing?: ChunkSigning
  /** Trailer headers may follow the final chunk (…-TRAILER modes). */
  trailers: boolean
}

// A chunk header is ~90 bytes; these bounds keep a hostile body from growing the line buffer.
const MAX_LINE_BYTES = 4096
const MAX_TRAILER_LINES = 64
const MAX_HEX_DIGITS = 13
const TRAILER_SIGNATURE = 'x-amz-trailer-signature'

type State = 'size' | 'data' | 'data-end' | 'trailer' | 'done'

function malformed (detail: string): S3Error {
  return new S3Error('InvalidRequest', `Malformed aws-chunked body: ${detail}`)
}

export class AwsChunkedDecoder {
  readonly #signing: ChunkSigning | undefined
  readonly #trailerMode: boolean
  #state: State = 'size'
  #line: Buffer[] = []
  #lineBytes = 0
  #remaining = 0
  #crlfSeen = 0
  #chunkHash: Hash | undefined
  #declaredSignature = ''
  #previousSignature: string
  #chunks = 0
  #trailerLines: Array<[name: string, value: string]> = []
  #blankBeforeTrailers = false

  constructor (options: AwsChunkedOptions) {
    this.#signing = options.signing
    this.#trailerMode = options.trailers
    this.#previousSignature = options.signing?.seedSignature ?? ''
  }

  /** Chunks seen so far, the final empty one included. */
  get chunks (): number {
    return this.#chunks
  }

  /** Decodes one network read; returns the object bytes it contained, in order. */
  push (input: Buffer): Buffer[] {
    const out: Buffer[] = []
    let pos = 0
    while (pos < input.length) {
      switch (this.#state) {
        case 'data': {
          const end = Math.min(input.length, pos + this.#remaining)
          const piece = input.subarray(pos, end)
          this.#chunkHash?.update(piece)
          out.push(piece)
          this.#remaining -= piece.length
          pos = end
          if (this.#remaining === 0) {
            this.#verifyChunk(this.#chunkHash?.digest('hex'))
            this.#state = 'data-end'
          }
          break
        }
        case 'data-end': {
          if (input[pos] !== (this.#crlfSeen === 0 ? 0x0d : 0x0a)) throw malformed('chunk data is not followed by CRLF.')
          pos++
          if (++this.#crlfSeen === 2) {
            this.#crlfSeen = 0
            this.#state = 'size'
          }
          break
        }
        case 'size':
        case 'trailer': {
          const newline = input.indexOf(0x0a, pos)
          const end = newline < 0 ? input.length : newline
          this.#appendLine(input.subarray(pos, end))
          pos = newline < 0 ? input.length : newline + 1
          if (newline >= 0) {
            const line = this.#takeLine()
            if (this.#state === 'size') this.#startChunk(line)
            else this.#trailerLine(line)
          }
          break
        }
        case 'done':
          throw malformed('data after the end of the body.')
      }
    }
    return out
  }

  /**
   * End of input: throws IncompleteBody if the body stopped early, checks the
   * trailer (presence of the declared names, signature), returns it.
   */
  finish (declaredTrailers: readonly string[]): Record<string, string> {
    // The one blank line seen so far may have been the end of a body without trailers: `0\r\n\r\n`.
    const ended = this.#state === 'done' ||
      (this.#state === 'trailer' && this.#lineBytes === 0 && this.#blankBeforeTrailers && this.#trailerLines.length === 0)
    if (!ended) throw new S3Error('IncompleteBody', 'The request body terminated unexpectedly: the aws-chunked body is incomplete.')
    const trailers: Record<string, string> = {}
    for (const [name, value] of this.#trailerLines) {
      if (name !== TRAILER_SIGNATURE && trailers[name] === undefined) trailers[name] = value
    }
    for (const name of declaredTrailers) {
      if (trailers[name] === undefined) throw new S3Error('MalformedTrailerError', `The ${name} trailer declared in x-amz-trailer is missing.`)
    }
    if (this.#signing !== undefined && this.#trailerMode) this.#verifyTrailer()
    return trailers
  }

  #appendLine (piece: Buffer): void {
    if (piece.length === 0) return
    this.#lineBytes += piece.length
    if (this.#lineBytes > MAX_LINE_BYTES) throw malformed('header line too long.')
    this.#line.push(piece)
  }

  #takeLine (): string {
    const text = (this.#line.length === 1 ? this.#line[0]! : Buffer.concat(this.#line)).toString('latin1')
    this.#line = []
    this.#lineBytes = 0
    return text.endsWith('\r') ? text.slice(0, -1) : text
  }

  #startChunk (line: string): void {
    const [sizeText = '', ...extensions] = line.split(';')
    if (!/^[0-9a-fA-F]+$/.test(sizeText) || sizeText.length > MAX_HEX_DIGITS) throw malformed(`invalid chunk size "${sizeText.slice(0, 32)}".`)
    const size = Number.parseInt(sizeText, 16)
    this.#chunks++
    if (this.#signing !== undefined) {
      const signature = extensions.find((e) => e.startsWith('chunk-signature='))?.slice('chunk-signature='.length)
      if (signature === undefined) throw new S3Error('SignatureDoesNotMatch', `Chunk ${this.#chunks} has no chunk-signature.`)
      this.#declaredSignature = signature
    }
    if (size === 0) {
      this.#verifyChunk(EMPTY_SHA256)
      this.#state = 'trailer'
      return
    }
    this.#remaining = size
    this.#chunkHash = this.#signing === undefined ? undefined : createHash('sha256')
    this.#state = 'data'
  }

  #verifyChunk (dataSha256: string | undefined): void {
    const signing = this.#signing
    if (signing === undefined || dataSha256 === undefined) return
    const stringToSign = chunkStringToSign(signing.date, signing.scope, this.#previousSignature, dataSha256)
    const expected = signHex(signing.signingKey, stringToSign)
    if (!signaturesMatch(expected, this.#declaredSignature)) {
      throw new S3Error('SignatureDoesNotMatch', `The signature of chunk ${this.#chunks} does not match.`, {
        details: { StringToSign: stringToSign, SignatureProvided: this.#declaredSignature }
      })
    }
    this.#previousSignature = expected
  }

  #trailerLine (line: string): void {
    if (line === '') {
      // Some writers put the final chunk's own CRLF before the trailers; tolerate one blank line there.
      if (this.#trailerMode && this.#trailerLines.length === 0 && !this.#blankBeforeTrailers) this.#blankBeforeTrailers = true
      else this.#state = 'done'
      return
    }
    if (!this.#trailerMode) throw new S3Error('MalformedTrailerError', 'Trailing headers are only allowed with a …-TRAILER x-amz-content-sha256.')
    const colon = line.indexOf(':')
    if (colon <= 0) throw new S3Error('MalformedTrailerError', `Malformed trailer line "${line.slice(0, 64)}".`)
    if (this.#trailerLines.length >= MAX_TRAILER_LINES) throw new S3Error('MalformedTrailerError', 'Too many trailing headers.')
    this.#trailerLines.push([line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()])
  }

  #verifyTrailer (): void {
    const signing = this.#signing!
    const signed = this.#trailerLines.filter(([name]) => name !== TRAILER_SIGNATURE)
    const provided = this.#trailerLines.find(([name]) => name === TRAILER_SIGNATURE)?.[1]
    if (provided === undefined) {
      if (signed.length === 0) return
      throw new S3Error('SignatureDoesNotMatch', 'The trailing headers carry no x-amz-trailer-signature.')
    }
    const canonical = signed.map(([name, value]) => `${name}:${value}\n`).join('')
    const stringToSign = trailerStringToSign(signing.date, signing.scope, this.#previousSignature, sha256Hex(canonical))
    if (!signaturesMatch(signHex(signing.signingKey, stringToSign), provided)) {
      throw new S3Error('SignatureDoesNotMatch', 'The trailer signature does not match.', {
        details: { StringToSign: stringToSign, SignatureProvided: provided }
      })
    }
  }
}
