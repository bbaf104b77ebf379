/** Warnings that do not stop the model, e.g. storage too short to keep it for the next visit. */
export function Notices({ notices }: { notices: string[] }) {
  if (notices.length === 0) return null;
  return (
    <ul className="notices">
      {notices.map((message) => (
        <li key={message} role="alert" data-testid="notice">
          {message}
        </li>
      ))}
    </ul>
  );
}
