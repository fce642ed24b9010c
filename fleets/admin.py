from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from fleets.models import Fleet, User


@admin.register(Fleet)
class FleetAdmin(admin.ModelAdmin):
    list_display = ("name", "created_at")
    search_fields = ("name",)


@admin.register(User)
class FleetUserAdmin(UserAdmin):
    list_display = ("username", "fleet", "is_active", "is_staff")
    list_filter = ("fleet", "is_active", "is_staff")
    fieldsets = (*UserAdmin.fieldsets, ("Fleet", {"fields": ("fleet",)}))
