package dev.shepherd.admin;

import dev.shepherd.fleet.FleetProperties;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.web.servlet.FilterRegistrationBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.Ordered;

import java.net.InetAddress;
import java.net.UnknownHostException;

/** Access control of the admin port. */
@Configuration(proxyBeanMethods = false)
class AdminConfiguration {

    @Bean
    FilterRegistrationBean<AdminAccess> adminAccess(FleetProperties properties,
                                                    @Value("${server.address:127.0.0.1}") String adminAddress) {
        String token = properties.admin().token();
        boolean tokenSet = token != null && !token.isBlank();
        if (!tokenSet && !isLoopback(adminAddress)) {
            throw new IllegalStateException("The admin port is bound to " + adminAddress + " (management.server.address), "
                    + "reachable from other machines, and fleet.admin.token is not set. Set fleet.admin.token "
                    + "(env FLEET_ADMIN_TOKEN) to a secret, or bind the admin port to 127.0.0.1.");
        }
        FilterRegistrationBean<AdminAccess> registration = new FilterRegistrationBean<>(new AdminAccess(tokenSet ? token : ""));
        registration.setEnabled(tokenSet);
        registration.setOrder(Ordered.HIGHEST_PRECEDENCE);
        return registration;
    }

    private static boolean isLoopback(String address) {
        try {
            return InetAddress.getByName(address).isLoopbackAddress();
        } catch (UnknownHostException ex) {
            return false;
        }
    }
}
