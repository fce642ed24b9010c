import { useMutation } from "@tanstack/react-query";
import { api } from "../../../api/client";
import { unwrap } from "../../../api/errors";
import { saveBlob } from "../../../lib/download";

/** GET /api/v1/vehicles/<id>/certificate.pdf with the bearer token, saved by the browser. */
export function useDownloadCertificate(vehicleId: string) {
  return useMutation({
    mutationFn: async () => {
      const pdf = unwrap(
        await api.GET("/api/v1/vehicles/{vehicle_id}/certificate.pdf", {
          params: { path: { vehicle_id: vehicleId } },
          headers: { Accept: "*/*" },
          parseAs: "blob",
        }),
      );
      saveBlob(pdf, `battery-certificate-${vehicleId}.pdf`);
    },
  });
}
