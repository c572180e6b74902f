package dev.shepherd.admin;

import io.swagger.v3.oas.models.Components;
import io.swagger.v3.oas.models.OpenAPI;
import io.swagger.v3.oas.models.info.Info;
import io.swagger.v3.oas.models.security.SecurityRequirement;
import io.swagger.v3.oas.models.security.SecurityScheme;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * What the OpenAPI document ({@code /v3/api-docs}, Swagger UI) says of the admin API as a whole: its name and
 * version, in place of SpringDoc's "OpenAPI definition" and "v0", and that every operation takes the admin token as
 * {@code Authorization: Bearer} (RFC 6750), so that Swagger UI's "Authorize" sends it.
 */
@Configuration(proxyBeanMethods = false)
class AdminApiDocs {

    static final String TOKEN_SCHEME = "adminToken";

    @Bean
    OpenAPI adminApi() {
        String version = AdminApiDocs.class.getPackage().getImplementationVersion();
        return new OpenAPI()
                .info(new Info().title("Shepherd admin API")
                        .version(version != null ? version : "development")
                        .description("Scale, reload, replace and kill workers; read their state, events and logs. "
                                + "Every error is an RFC 9457 problem."))
                .components(new Components().addSecuritySchemes(TOKEN_SCHEME, new SecurityScheme()
                        .type(SecurityScheme.Type.HTTP).scheme("bearer")
                        .description("fleet.admin.token (none needed from loopback when no token is set)")))
                .addSecurityItem(new SecurityRequirement().addList(TOKEN_SCHEME));
    }
}
