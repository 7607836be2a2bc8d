const TICKET_TEXT_MAX = 60

/** A ticket link: the server stores http(s) URLs only, and anything else stays plain text. */
export function TicketLink({ url, className }: { url: string; className?: string }) {
  const text = url.length > TICKET_TEXT_MAX ? `${url.slice(0, TICKET_TEXT_MAX - 1)}…` : url
  if (!/^https?:\/\//i.test(url)) return <>{text}</>
  return (
    <a href={url} target="_blank" rel="noopener noreferrer" className={className} title={url}>
      {text}
    </a>
  )
}
