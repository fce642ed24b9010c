import { useParams } from "react-router";
import { LogCells } from "../../features/logs/components/LogCells";
import { LogReport } from "../../features/logs/components/LogReport";

export function LogPage() {
  const logId = useParams().logId ?? "";
  return (
    <>
      <h1>Log {logId}</h1>
      <LogReport logId={logId} />
      <LogCells logId={logId} />
    </>
  );
}
