import { XMLParser, type X2jOptions } from 'fast-xml-parser'
import { S3Error } from './errors.ts'
import { escapeXml } from './xml-escape.ts'

/** An element: its name and its content (text, children, or nothing). */
export type XmlElement = [name: string, content?: XmlContent]
export type XmlContent = string | number | boolean | bigint | XmlElement[] | undefined | null

const S3_NS = 'http://s3.amazonaws.com/doc/2006-03-01/'

function renderElement ([name, content]: XmlElement): string {
  if (content === undefined || content === null) return `<${name}/>`
  if (Array.isArray(content)) return `<${name}>${content.map(renderElement).join('')}</${name}>`
  return `<${name}>${escapeXml(String(content))}</${name}>`
}

/** A whole S3 response document; elements whose content is undefined are left out. */
export function xmlDocument (root: string, children: XmlElement[], namespace = true): string {
  const present = children.filter(([, content]) => content !== undefined)
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${root}${namespace ? ` xmlns="${S3_NS}"` : ''}>${present.map(renderElement).join('')}</${root}>`
}

/** A document whose root holds only text (e.g. LocationConstraint). */
export function xmlTextDocument (root: string, text: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${root} xmlns="${S3_NS}">${escapeXml(text)}</${root}>`
}

/** Optional element: included only when `value` is defined. */
export function opt (name: string, value: XmlContent): XmlElement[] {
  return value === undefined || value === null ? [] : [[name, value]]
}

const XML_ENTITIES: Record<string, string> = { amp: '&', apos: "'", gt: '>', lt: '<', quot: '"' }

function characterReference (ref: string): string {
  const code = ref.startsWith('#x') || ref.startsWith('#X') ? Number.parseInt(ref.slice(2), 16) : Number.parseInt(ref.slice(1), 10)
  if (!Number.isInteger(code) || code < 1 || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) throw new Error(`bad character reference &${ref};`)
  return String.fromCodePoint(code)
}

/**
 * XML's five named entities and numeric character references, nothing
 * more: Go's encoder (rclone, the Go SDKs) writes a quote as `&#34;`.
 * Entities a DOCTYPE declares are never expanded.
 */
const entityDecoder: NonNullable<X2jOptions['entityDecoder']> = {
  decode: (text) => text.replace(/&(#[xX][0-9a-fA-F]+|#[0-9]+|[A-Za-z]+);/g, (_, ref: string) => {
    if (ref.startsWith('#')) return characterReference(ref)
    const named = XML_ENTITIES[ref]
    if (named === undefined) throw new Error(`unknown entity &${ref};`)
    return named
  }),
  setExternalEntities: () => {},
  addInputEntities: () => {},
  reset: () => {},
  setXmlVersion: () => {}
}

const parser = new XMLParser({
  ignoreAttributes: true,
  parseTagValue: false,
  trimValues: false,
  entityDecoder,
  isArray: (name) => ['Part', 'Object'].includes(name)
})

/** Parses a request body we expect to be XML; anything else is MalformedXML. */
export function parseXml (text: string, root: string): Record<string, unknown> {
  let doc: Record<string, unknown>
  try {
    doc = parser.parse(text, true) as Record<string, unknown>
  } catch {
    throw new S3Error('MalformedXML')
  }
  const body = doc[root]
  if (typeof body !== 'object' || body === null) throw new S3Error('MalformedXML')
  return body as Record<string, unknown>
}
