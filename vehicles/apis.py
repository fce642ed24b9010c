"""HTTP interface of vehicles: the fleet's vehicles and their registry."""

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.filters import filtered
from common.identifiers import VEHICLE_ID_INVALID, is_vehicle_id
from common.openapi import AUTHENTICATED_ERRORS, LIST_PARAMETERS, error_responses, list_response
from common.pagination import KeysetCursorPagination
from fleets.permissions import IsFleetMember
from vehicles.filters import ORDERING_CHOICES, VehicleFilterSet, vehicle_ordering
from vehicles.models import AnomalyCode, BatteryProfile
from vehicles.selectors import vehicle_data, vehicle_get, vehicles_of_fleet
from vehicles.serializers import VehicleRegistrySerializer, VehicleSerializer
from vehicles.services import vehicle_register


class VehicleListApi(APIView):
    """GET /api/v1/vehicles: the fleet's vehicles, cursor-paginated, filtered and ordered."""

    permission_classes = [IsAuthenticated, IsFleetMember]

    @extend_schema(
        operation_id="vehicles_list",
        parameters=[
            *LIST_PARAMETERS,
            OpenApiParameter("profile", str, enum=BatteryProfile.values),
            OpenApiParameter("anomaly", str, enum=AnomalyCode.values, description="In the latest report."),
            OpenApiParameter("soh_lt", float, description="Latest SoH below this (%)."),
            OpenApiParameter("soh_gte", float, description="Latest SoH at least this (%)."),
            OpenApiParameter("ordering", str, enum=[value for value, _ in ORDERING_CHOICES]),
        ],
        responses={200: list_response(VehicleSerializer, "VehicleList"), **error_responses(400, *AUTHENTICATED_ERRORS)},
    )
    def get(self, request: Request) -> Response:
        queryset, params = filtered(
            VehicleFilterSet(request.query_params, queryset=vehicles_of_fleet(fleet_id=request.user.fleet_id))
        )
        paginator = KeysetCursorPagination(ordering=vehicle_ordering(params.get("ordering")), salt="vehicles")
        page = paginator.paginate_queryset(queryset, request, view=self)
        return paginator.get_paginated_response([vehicle_data(vehicle) for vehicle in page])


class VehicleDetailApi(APIView):
    """GET and PUT /api/v1/vehicles/<vehicle_id>: one vehicle; its registry."""

    permission_classes = [IsAuthenticated, IsFleetMember]

    @extend_schema(
        operation_id="vehicles_retrieve",
        responses={200: VehicleSerializer, **error_responses(404, *AUTHENTICATED_ERRORS)},
    )
    def get(self, request: Request, vehicle_id: str) -> Response:
        vehicle = vehicle_get(fleet_id=request.user.fleet_id, vehicle_id=vehicle_id)
        if vehicle is None:
            raise NotFound("No such vehicle.")
        return Response(vehicle_data(vehicle))

    @extend_schema(
        operation_id="vehicles_update",
        request=VehicleRegistrySerializer,
        responses={
            200: OpenApiResponse(VehicleSerializer, description="Updated; fields left out keep their values."),
            201: OpenApiResponse(VehicleSerializer, description="Registered before its first log."),
            **error_responses(400, 409, 415, *AUTHENTICATED_ERRORS),
        },
    )
    def put(self, request: Request, vehicle_id: str) -> Response:
        if not is_vehicle_id(vehicle_id):
            raise ValidationError({"vehicle_id": [VEHICLE_ID_INVALID]})
        serializer = VehicleRegistrySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        vehicle, created = vehicle_register(
            fleet_id=request.user.fleet_id, vehicle_id=vehicle_id, changes=serializer.validated_data
        )
        return Response(vehicle_data(vehicle), status=201 if created else 200)
